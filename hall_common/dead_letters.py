"""Dead letters: events a service gave up on, kept visible until the center retries them.

The worker parks an event here after its bounded retries (or at once when retrying cannot help);
the center lists them in the admin console and, once the cause is fixed, sends one again to the
service's queue. A retry is a conditional update, so a double click sends the event once.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import db, limits
from .celery_app import get_celery
from .errors import BusinessError
from .runtime import get_runtime
from .settings import get_settings

log = logging.getLogger(__name__)

DEAD, RETRYING, RESOLVED = "dead", "retrying", "resolved"
# Which rows a list shows: the open ones (the default), the resolved ones, or all.
FILTERS: dict[str, tuple[str, ...]] = {
    "open": (DEAD, RETRYING),
    "resolved": (RESOLVED,),
    "all": (DEAD, RETRYING, RESOLVED),
}
MAX_ERROR_CHARS = 4000
ALREADY_RETRIED = "该事件已重新投递，请勿重复操作"


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
    return text[:MAX_ERROR_CHARS]


def bury(event: Any, error: str, attempts: int, first_failed_at: datetime) -> None:
    """Park an event of the current service (a fresh transaction: the handler's was rolled back)."""
    model = get_runtime().plumbing.dead_letter
    session = db.session()
    session.rollback()
    event_id, event_type = _identity(event)
    now = db.utcnow()
    again = (
        update(model)
        .where(model.event_id == event_id)
        .values(status=DEAD, last_error=error, attempts=model.attempts + attempts, last_failed_at=now)
    )
    try:
        # An event retried from the console that fails again keeps its row and its history.
        if session.execute(again).rowcount == 0:  # type: ignore[attr-defined]
            session.add(model(
                event_id=event_id, type=event_type, payload=json.dumps(event, ensure_ascii=False, default=str),
                last_error=error, attempts=attempts, status=DEAD, first_failed_at=first_failed_at,
                last_failed_at=now,
            ))
        session.commit()
    except IntegrityError:  # two deliveries of one event gave up at the same moment
        session.rollback()
        session.execute(again)
        session.commit()


def _identity(event: Any) -> tuple[str, str]:
    if isinstance(event, dict):
        event_id, event_type = event.get("id"), event.get("type")
        if isinstance(event_id, str) and event_id and len(event_id) <= 100:
            return event_id, str(event_type or "")[:100]
        return f"invalid-{uuid.uuid4()}", str(event_type or "")[:100]
    return f"invalid-{uuid.uuid4()}", ""


def mark_resolved(session: Session, event_id: str | list[str]) -> None:
    """In the transaction that records the event (or a message's events) as processed: its dead
    letter, if any, is done."""
    ids = [event_id] if isinstance(event_id, str) else event_id
    session.execute(_resolve_statement(get_runtime().plumbing.dead_letter.__table__),
                    {"ids": ids, "resolved_at": db.utcnow()})


@lru_cache(maxsize=16)
def _resolve_statement(table: Table) -> Any:
    # Runs for every message: a Core statement on the table, without the ORM's bulk-update machinery
    # (none of its objects are loaded; it was an eighth of the worker's CPU per event, make bench),
    # built once per service with bound parameters.
    return (table.update()
            .where(table.c.event_id.in_(bindparam("ids", expanding=True)), table.c.status != RESOLVED)
            .values(status=RESOLVED, resolved_at=bindparam("resolved_at", type_=table.c.resolved_at.type)))


def list_dead_letters(status: str, page: int, per_page: int) -> tuple[list[Any], int]:
    model = get_runtime().plumbing.dead_letter
    session = db.session()
    where = model.status.in_(FILTERS[status])
    total = session.scalar(select(func.count()).select_from(model).where(where)) or 0
    query = select(model).where(where).order_by(model.id.desc()).offset((page - 1) * per_page).limit(per_page)
    return list(session.scalars(query)), total


def get_dead_letter(dead_letter_id: int) -> Any:
    row = db.session().get(get_runtime().plumbing.dead_letter, dead_letter_id)
    if row is None:
        raise BusinessError("死信记录不存在", 404)
    return row


def retry(dead_letter_id: int, retried_by: str) -> Any:
    """Send a dead letter once more to this service's queue.

    Only one of several simultaneous retries wins (the conditional update's row count decides). A
    retry whose message was lost (it still shows 已重新投递 after several visibility timeouts) may be
    sent again.
    """
    runtime = get_runtime()
    model = runtime.plumbing.dead_letter
    session = db.session()
    row = get_dead_letter(dead_letter_id)
    now = db.utcnow()
    stale = now - timedelta(seconds=3 * get_settings().event_visibility_timeout)
    claimed = session.execute(
        update(model)
        .where(
            model.id == dead_letter_id,
            or_(model.status == DEAD, and_(model.status == RETRYING, model.retried_at < stale)),
        )
        .values(status=RETRYING, retried_at=now, retried_by=retried_by, retry_count=model.retry_count + 1)
    )
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise BusinessError(ALREADY_RETRIED if row.status != RESOLVED else "该事件已处理完成", 409)
    # A dead letter parked for killing its worker keeps its delivery count: this new delivery gets the
    # whole allowance again, and a late copy of the event no longer finds it worn out.
    limits.forget(runtime.name, row.event_id)
    try:
        publish(runtime.name, json.loads(row.payload))
    except Exception as exc:
        log.warning("dead letter %s could not be sent again", row.event_id, exc_info=True)
        session.execute(update(model).where(model.id == dead_letter_id, model.status == RETRYING)
                        .values(status=DEAD, retry_count=model.retry_count - 1))
        session.commit()
        raise BusinessError("消息队列暂不可用，请稍后重新投递", 503) from exc
    session.refresh(row)
    return row


def publish(service: str, event: Any) -> None:
    get_celery().send_task(f"{service}.handle_event", args=[event], queue=service, ignore_result=True)
