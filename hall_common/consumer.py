"""Idempotent event consumption: each event id is processed at most once per service.

The handler's changes, its own outbox events and the processed-event record commit together, so a
redelivered event (after a crash or a duplicate publish) finds its id recorded and changes nothing.
An event is recorded only when a handler ran: a type this service has no handler for is an error,
never a silently "processed" event.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import db, dead_letters, logs, tracing
from .events import is_valid
from .outbox import EMITTED, relay_now
from .runtime import Handler, ServiceRuntime, get_runtime
from .security import forget_not_revoked

log = logging.getLogger(__name__)


class PermanentEventError(Exception):
    """Retrying cannot help (the event itself or the deployed code is wrong): straight to the dead letters."""


class InvalidEvent(PermanentEventError, ValueError):
    pass


class UnhandledEvent(PermanentEventError, LookupError):
    pass


def record_revoked_session(event: dict[str, Any]) -> None:
    """Every service keeps the logged-out token ids, so its local token check refuses them."""
    data = event["data"]
    model = get_runtime().plumbing.revoked
    session = db.session()
    if session.get(model, data["token_id"]) is None:
        session.add(model(token_id=data["token_id"], expires_at=datetime.fromisoformat(data["expires_at"])))
    forget_not_revoked(data["token_id"])


# Events every service consumes, whatever its own handlers.
COMMON_HANDLERS: dict[str, Handler] = {"auth.session_revoked": record_revoked_session}


def handler_for(runtime: ServiceRuntime, event_type: str) -> Handler | None:
    return runtime.handlers.get(event_type) or COMMON_HANDLERS.get(event_type)


def consume(event: dict[str, Any]) -> str:
    """Handle one event in the current service's app context. Returns processed or duplicate."""
    outcome, emitted = consume_deferred(event)
    # Relay what the handler emitted; a handler that emitted nothing costs no relay pass (rows an
    # earlier pass left behind go with the periodic relay).
    if emitted:
        relay_now()
    return outcome


def consume_deferred(event: dict[str, Any]) -> tuple[str, bool]:
    """``consume`` without the relay: (processed or duplicate, whether the handler emitted events).

    A batch of events relays once after its last event, so the events its handlers emitted leave
    together, one message per consuming service (outbox.relay).
    """
    session = db.session()
    session.info.pop(EMITTED, None)
    processed = get_runtime().plumbing.processed
    try:
        (outcome,) = _consume_all_uncommitted(session, [event])
        session.commit()
    except IntegrityError:
        # Another delivery of the same event committed first.
        session.rollback()
        if session.get(processed, event["id"]) is not None:
            return "duplicate", False
        raise
    except Exception:
        session.rollback()
        raise
    return outcome, bool(session.info.pop(EMITTED, False)) and outcome == "processed"


def consume_together(events: list[dict[str, Any]]) -> tuple[list[str], bool] | None:
    """The events of one message in one transaction: (their outcomes, whether any handler emitted),
    or None, with nothing stored, if any of them failed.

    One commit, one set of live notices and one relay for the message instead of one per event: under
    load the relays gather the events of many businesses into a message (make bench). Each event is
    still recorded as processed with its changes, so a redelivery finds them all done. On None the
    caller handles the events one by one, each in its own transaction, where the failing one is
    retried or parked alone; so a bad event never holds up the others, and nothing is stored twice.
    """
    session = db.session()
    session.info.pop(EMITTED, None)
    try:
        outcomes = _consume_all_uncommitted(session, events)
        session.commit()
    except Exception:
        session.rollback()
        session.info.pop(EMITTED, None)
        return None
    return outcomes, bool(session.info.pop(EMITTED, False))


def _consume_all_uncommitted(session: Session, events: list[dict[str, Any]]) -> list[str]:
    """Check, handle and record events in the session's transaction (the caller commits): one query
    for those already processed, one insert of the processed records and one dead-letter update,
    whatever their number (plain statements, not ORM objects: they run for every message, make bench)."""
    handlers = [_handler(event) for event in events]
    table = get_runtime().plumbing.processed.__table__
    ids = [event["id"] for event in events]
    done = set(session.scalars(_processed_query(table), {"ids": ids}))
    outcomes, records = [], []
    for event, handler in zip(events, handlers, strict=True):
        if event["id"] in done:  # processed before, or earlier in this very message
            outcomes.append("duplicate")
            continue
        # The handler's log lines, and the events it emits, carry the request id that caused the event;
        # its spans (and those events) continue the trace of the span that emitted it.
        service = get_runtime().name
        with logs.bound(logs.accepted(event.get(logs.EVENT_ATTRIBUTE))), tracing.event_span(event, service):
            handler(event)
            log.info("event %s (%s) handled", event["id"], event["type"], extra={"service": service})
        done.add(event["id"])
        records.append({"event_id": event["id"], "type": event["type"], "processed_at": db.utcnow()})
        outcomes.append("processed")
    if records:
        session.execute(insert(table), records)
    dead_letters.mark_resolved(session, ids)
    return outcomes


@lru_cache(maxsize=16)
def _processed_query(table: Table) -> Any:
    """Built once per service with a bound list: it runs for every message."""
    return select(table.c.event_id).where(table.c.event_id.in_(bindparam("ids", expanding=True)))


def _handler(event: dict[str, Any]) -> Handler:
    if not is_valid(event):
        raise InvalidEvent(f"not a CloudEvent: {event!r:.200}")
    runtime = get_runtime()
    handler = handler_for(runtime, event["type"])
    if handler is None:
        raise UnhandledEvent(f"the {runtime.name} service has no handler for {event['type']}")
    return handler
