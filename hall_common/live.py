"""Live inbox notices: the names both ends of the Redis pub/sub channel agree on.

The notify service publishes a small change notice after each commit that changes an employer's
inboxes; the gateway's stream endpoint relays it to that employer's open pages. A notice names only
the employer it is for and carries keys and counts, never a message's text: the page fetches its
rows through the gateway like any other page.
"""

from __future__ import annotations

CHANNEL_PREFIX = "hall:inbox:"
# The last notice of each employer, kept so a page that (re)connects learns at once what it missed
# while its stream was down (a gateway restart, a network blip).
LAST_PREFIX = "hall:inbox-last:"
LAST_SECONDS = 30 * 24 * 3600


def channel(employer_no: str) -> str:
    return CHANNEL_PREFIX + employer_no


def last_key(employer_no: str) -> str:
    return LAST_PREFIX + employer_no


def employer_of(channel_name: str) -> str | None:
    """The employer a channel belongs to (None for a name that is not an inbox channel)."""
    return channel_name[len(CHANNEL_PREFIX):] if channel_name.startswith(CHANNEL_PREFIX) else None
