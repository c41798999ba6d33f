"""Change notices after commit: what the gateway's read model of the home page (gateway/homecache.py)
listens to, so it drops an employer's cached profile or account the moment it changes.

A service states which of its models feed a cached block (``watch``); any ORM insert, update or delete
of such a row marks the employer on the session, and once the session commits a notice is published
on ``hall:changed:<topic>:<employer_no>`` (a rollback publishes nothing). A change made with a Core
statement (``update(...)``) is not seen by the ORM: its code calls ``mark`` itself. ``announce`` is the
general form (any channel, optionally a key kept in Redis), used by auth for revoked sessions.

Publishing is best effort, as notify's inbox notices: the data is already committed, and the gateway's
cache keeps an entry for a few seconds only (its safety TTL), so a lost notice costs that much
staleness, never more.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from redis import Redis
from sqlalchemy import event
from sqlalchemy.orm import Session

from .settings import get_settings

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "hall:changed:"
PROFILE, ACCOUNT = "profile", "account"  # the employer service's profile, the payment account
PENDING = "hall.change_notices"
# model class -> (topic, how to read the employer number of a row)
_WATCHED: dict[type, tuple[str, Callable[[Any], str | None]]] = {}


def channel(topic: str, employer_no: str) -> str:
    return f"{CHANNEL_PREFIX}{topic}:{employer_no}"


def parse(channel_name: str) -> tuple[str, str] | None:
    """(topic, employer number) of a change channel; None for any other name."""
    if not channel_name.startswith(CHANNEL_PREFIX):
        return None
    topic, _, employer_no = channel_name[len(CHANNEL_PREFIX):].partition(":")
    return (topic, employer_no) if topic and employer_no else None


@lru_cache(maxsize=1)
def _client() -> Redis:
    # Short timeouts: a hung Redis must not hold the request or the event that just committed.
    return Redis.from_url(get_settings().redis_url, socket_connect_timeout=1, socket_timeout=1)


def reset_client() -> None:
    _client.cache_clear()


def announce(session: Session, channel_name: str, message: str = "", keep: tuple[str, int] | None = None) -> None:
    """Publish ``message`` on the channel once the session commits; with ``keep`` (key, seconds) also
    set that key to the message first, so a reader that was not subscribed can still look it up."""
    session.info.setdefault(PENDING, {})[channel_name] = (message, keep)


def mark(session: Session, topic: str, employer_no: str) -> None:
    """The session's transaction changes this employer's ``topic``: announce it after the commit."""
    announce(session, channel(topic, employer_no), employer_no)


def watch(model: type, topic: str, employer_of: Callable[[Any], str | None] = lambda row: row.employer_no) -> None:
    """Every ORM change of a ``model`` row marks its employer's ``topic``."""
    _WATCHED[model] = (topic, employer_of)


@event.listens_for(Session, "before_flush")
def _mark_watched(session: Session, _context: Any, _instances: Any) -> None:
    if not _WATCHED:
        return
    for row in (*session.new, *session.dirty, *session.deleted):
        watched = _WATCHED.get(type(row))
        if watched is not None:
            employer_no = watched[1](row)
            if employer_no:
                mark(session, watched[0], str(employer_no))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    pending: dict[str, tuple[str, tuple[str, int] | None]] | None = session.info.pop(PENDING, None)
    if not pending:
        return
    try:
        pipe = _client().pipeline(transaction=False)
        for channel_name, (message, keep) in pending.items():
            if keep is not None:  # before the publish: a reader told of it finds the key
                pipe.set(keep[0], message or "1", ex=keep[1])
            pipe.publish(channel_name, message)
        pipe.execute()
    except Exception:
        log.warning("change notices not published (%s); cached pages expire on their own", ", ".join(pending),
                    exc_info=True)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(PENDING, None)
