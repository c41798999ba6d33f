"""Change notices after commit: what the gateway's read model of the home page (gateway/homecache.py)
listens to, so it drops an employer's cached profile or account the moment it changes.

A service states which of its models feed a cached block (``watch``). Two session hooks, here and
nowhere else, see every write to such a table, so no service code announces anything by hand:

- ``before_flush``: an ORM insert, update or delete of a watched row marks its employer;
- ``do_orm_execute``: an INSERT, UPDATE or DELETE statement run through the session (``update(...)``,
  which the ORM never sees as objects) marks the employers of exactly the rows it wrote. An UPDATE or
  DELETE is run with ``return_defaults`` of the employer column (RETURNING on SQLite and PostgreSQL;
  the caller's row count stays what it was); an INSERT's employers are in its values. Where neither
  tells (an executemany UPDATE or DELETE, a statement that has its own RETURNING, an UPDATE that moves
  rows to another employer, an INSERT ... SELECT), the notice names every employer (``EVERY``): more
  is dropped, nothing missed.

Once the session commits, a notice is published on ``hall:changed:<topic>:<employer_no>``; a rollback
publishes nothing. A statement run on a bare connection (``session.connection().execute``) passes no
hook: services do not write watched tables that way. ``announce`` is the general form (any channel,
optionally a key kept in Redis), used by auth for revoked sessions.

Publishing is best effort, as notify's inbox notices: the data is already committed, and the gateway's
cache keeps an entry for a few seconds only (its safety TTL), so a lost notice costs that much
staleness, never more.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from redis import Redis
from sqlalchemy import BindParameter, Table, event
from sqlalchemy.engine import Result
from sqlalchemy.orm import ORMExecuteState, Session

from .settings import get_settings

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "hall:changed:"
PROFILE, ACCOUNT = "profile", "account"  # the employer service's profile, the payment account
EVERY = "*"  # in place of an employer number: the topic of every employer changed
PENDING = "hall.change_notices"
# model class -> (topic, the attribute holding the employer number); its table -> the same
_WATCHED: dict[type, tuple[str, str]] = {}
_TABLES: dict[Table, tuple[str, str]] = {}


def channel(topic: str, employer_no: str) -> str:
    return f"{CHANNEL_PREFIX}{topic}:{employer_no}"


def parse(channel_name: str) -> tuple[str, str] | None:
    """(topic, employer number or ``EVERY``) of a change channel; None for any other name."""
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
    # Keyed by channel and message: one transaction may announce one channel many times with different
    # messages (auth revoking each of an account's sessions), and each must be published.
    session.info.setdefault(PENDING, {})[(channel_name, message)] = keep


def _mark(session: Session, topic: str, employer_nos: Iterable[Any]) -> None:
    for employer_no in employer_nos:
        if employer_no:
            announce(session, channel(topic, str(employer_no)), str(employer_no))


def watch(model: type, topic: str, column: str = "employer_no") -> None:
    """Every write of a ``model`` row (ORM or statement) marks the employer in its ``column``."""
    _WATCHED[model] = (topic, column)
    _TABLES[model.__table__] = (topic, column)  # type: ignore[attr-defined]


@event.listens_for(Session, "before_flush")
def _mark_rows(session: Session, _context: Any, _instances: Any) -> None:
    if not _WATCHED:
        return
    for row in (*session.new, *session.dirty, *session.deleted):
        watched = _WATCHED.get(type(row))
        if watched is not None:
            _mark(session, watched[0], (getattr(row, watched[1]),))


@event.listens_for(Session, "do_orm_execute")
def _mark_statement(state: ORMExecuteState) -> Result[Any] | None:
    if not (state.is_update or state.is_delete or state.is_insert) or not _TABLES:
        return None  # reads: nothing to do, at the cost of three attribute reads
    statement: Any = state.statement
    watched = _TABLES.get(statement.table)
    if watched is None:
        return None
    topic, name = watched
    column = statement.table.c[name]
    rows: list[Mapping[str, Any]] = list(state.parameters) if isinstance(state.parameters, list) \
        else [state.parameters or {}]  # type: ignore[list-item]
    if state.is_insert:
        _mark(state.session, topic, _inserted(statement, rows, name))
        return None
    if state.is_executemany or statement._returning:
        _mark(state.session, topic, (EVERY,))  # the rows it writes cannot be returned to this hook
        return None
    if any(getattr(key, "key", key) == name for key in getattr(statement, "_values", None) or {}):
        _mark(state.session, topic, (EVERY,))  # RETURNING tells where its rows went, not where they were
    result = state.invoke_statement(statement=statement.return_defaults(column))
    _mark(state.session, topic, (getattr(row, name) for row in result.returned_defaults_rows or ()))  # type: ignore[attr-defined]
    return result


def _inserted(statement: Any, rows: list[Mapping[str, Any]], name: str) -> list[Any]:
    """The employer numbers an INSERT writes: from its execution parameters, else from its values (one
    row, or several); ``[EVERY]`` when they do not say (INSERT ... SELECT, a default)."""
    value_rows = statement._multi_values[0] if statement._multi_values else [statement._values or {}]
    found: list[Any] = []
    for values in value_rows:
        value = next((v for k, v in values.items() if getattr(k, "key", k) == name), None)
        for row in rows:
            if isinstance(value, BindParameter):
                found.append(row.get(value.key, value.value))
            elif value is not None:
                found.append(value)
            else:
                found.append(row.get(name))
    return found if found and all(found) else [EVERY]


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    pending: dict[tuple[str, str], tuple[str, int] | None] | None = session.info.pop(PENDING, None)
    if not pending:
        return
    try:
        pipe = _client().pipeline(transaction=False)
        for (channel_name, message), keep in pending.items():
            if keep is not None:  # before the publish: a reader told of it finds the key
                pipe.set(keep[0], message or "1", ex=keep[1])
            pipe.publish(channel_name, message)
        pipe.execute()
    except Exception:
        log.warning("change notices not published (%s); cached pages expire on their own",
                    ", ".join(sorted({name for name, _ in pending})),
                    exc_info=True)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(PENDING, None)
