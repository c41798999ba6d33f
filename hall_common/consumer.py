"""Idempotent event consumption: each event id is processed at most once per service.

The handler's changes, its own outbox events and the processed-event record commit together, so a
redelivered event (after a crash or a duplicate publish) finds its id recorded and changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from . import db
from .events import is_valid
from .outbox import relay_now
from .runtime import Handler, get_runtime


class InvalidEvent(ValueError):
    pass


def record_revoked_session(event: dict[str, Any]) -> None:
    """Every service keeps the logged-out token ids, so its local token check refuses them."""
    data = event["data"]
    model = get_runtime().plumbing.revoked
    session = db.session()
    if session.get(model, data["token_id"]) is None:
        session.add(model(token_id=data["token_id"], expires_at=datetime.fromisoformat(data["expires_at"])))


# Events every service consumes, whatever its own handlers.
COMMON_HANDLERS: dict[str, Handler] = {"auth.session_revoked": record_revoked_session}


def consume(event: dict[str, Any]) -> str:
    """Handle one event in the current service's app context. Returns processed, duplicate or ignored."""
    if not is_valid(event):
        raise InvalidEvent(f"not a CloudEvent: {event!r:.200}")
    runtime = get_runtime()
    session = db.session()
    if session.get(runtime.plumbing.processed, event["id"]) is not None:
        return "duplicate"
    handler = runtime.handlers.get(event["type"]) or COMMON_HANDLERS.get(event["type"])
    try:
        if handler is not None:
            handler(event)
        session.add(runtime.plumbing.processed(event_id=event["id"], type=event["type"]))
        session.commit()
    except IntegrityError:
        # Another delivery of the same event committed first.
        session.rollback()
        if session.get(runtime.plumbing.processed, event["id"]) is not None:
            return "duplicate"
        raise
    except Exception:
        session.rollback()
        raise
    relay_now()
    return "processed" if handler is not None else "ignored"
