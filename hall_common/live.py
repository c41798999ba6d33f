"""Live inbox notices: the names both ends of the Redis pub/sub channel agree on.

The notify service publishes a small change notice after each commit that changes an employer's
inboxes; the gateway's stream endpoint relays it to that employer's open pages. A notice names only
the employer it is for and carries keys and counts, never a message's text: the page fetches its
rows through the gateway like any other page.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from redis import Redis

from .settings import get_settings

log = logging.getLogger(__name__)

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


# A signed session cookie stays valid to whoever kept a copy after its logout, so the gateway tells
# its streams when a session ends: a key that a (re)connecting stream checks, and a message that ends
# the streams already open. Kept as long as a copy of the cookie could still pass the idle check.
ENDED_PREFIX = "hall:session-ended:"
ENDED_CHANNEL = "hall:session-ended"


def ended_key(live_id: str) -> str:
    return ENDED_PREFIX + live_id


# The auth service revoked a session (logout, a password reset, a change of rights): its id is kept
# for the session's longest life and announced, so the gateway refuses the session without asking a
# service (it serves the home page from its cache) and ends its live streams.
REVOKED_PREFIX = "hall:session-revoked:"
REVOKED_CHANNEL = "hall:session-revoked"


def revoked_key(session_id: str) -> str:
    return REVOKED_PREFIX + session_id


@lru_cache(maxsize=1)
def _client() -> Redis:
    return Redis.from_url(get_settings().redis_url, socket_connect_timeout=1, socket_timeout=1)


def end_session(live_id: str) -> None:
    """The session with this id ended (logout, idle, refused by the auth service, replaced by a new
    login): its streams stop and a copy of its cookie opens none. Best effort: with Redis down the
    streams still end at the session's idle limit."""
    try:
        pipe = _client().pipeline(transaction=False)
        pipe.set(ended_key(live_id), "1", ex=get_settings().session_idle_seconds + 60)
        pipe.publish(ENDED_CHANNEL, live_id)
        pipe.execute()
    except Exception:
        log.warning("live: the end of a session was not announced; its streams end at the idle limit",
                    exc_info=True)


def reset_client() -> None:
    _client.cache_clear()
