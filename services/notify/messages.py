"""The messages (消息) of a business's outcomes, worded by its declaration in the catalog
(hall_common/business_types.py): approved and rejected when the process completes, returned, ended.

An outcome the owner announces by a domain event once it applied it (the declaration's
``result_events``, e.g. ``employer.info_changed``) is sent on that event instead, so the message never
says 已完成办理 before the change is made; every other outcome, of every type, is sent on the
workflow's process event (tracks.py calls ``for_process_event``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hall_common import business_types, db
from hall_common.business_types import APPROVED, ENDED, REJECTED, RETURNED, BusinessTypeInfo
from hall_common.consumer import InvalidEvent

from .boxcounts import bump
from .models import MESSAGE, InboxItem


def add_message(event: dict[str, Any]) -> None:
    """Handler of an owner's domain event that announces an outcome it applied."""
    data = event["data"]
    info = business_types.resolve(str(data["business_type"]), str(data.get("title") or ""))
    kind = info.result_events.get(event["type"])
    if kind is None:
        raise InvalidEvent(f"{event['type']} announces no outcome of {info.type}")
    store(db.session(), event["id"], kind, info, data)


def for_process_event(session: Session, event: dict[str, Any], track: dict[str, Any]) -> None:
    """The message of a process event kept for the first time, if it is an outcome the owner does not
    announce itself. ``track``: the instance's folded state (its summary, from process.started)."""
    data = event["data"]
    kind = _kind(event["type"], data)
    if kind is None:
        return
    info = business_types.resolve(str(track.get("business_type") or data.get("business_type") or ""),
                                  str(track.get("title") or data.get("title") or ""))
    if info.announced_by_owner(kind):
        return
    store(session, event["id"], kind, info, {**track, **data, "summary": track.get("summary") or ""})


def _kind(event_type: str, data: dict[str, Any]) -> str | None:
    if event_type == "process.completed":
        outcome = data.get("outcome")
        return outcome if outcome in (APPROVED, REJECTED) else None
    return {"process.returned": RETURNED, "process.ended": ENDED}.get(event_type)


def store(session: Session, event_id: str, kind: str, info: BusinessTypeInfo, data: dict[str, Any]) -> None:
    session.add(InboxItem(
        employer_no=str(data["employer_no"])[:20], box=MESSAGE, business_type=info.type[:50],
        business_id=str(data["business_id"])[:50], title=info.title[:100], content=info.message(kind, data),
        source_event_id=event_id,
    ))
    bump(session, str(data["employer_no"])[:20], MESSAGE, 1)
