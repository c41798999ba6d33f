"""The employer's inboxes, filled from workflow and domain events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update

from hall_common import db
from hall_common.errors import BusinessError

from .models import BOXES, MESSAGE, READ, InboxItem

# event type -> message text; fields come from the event's data
MESSAGES: dict[str, str] = {
    "employer.info_changed": "尊敬的{employer_name}，您已完成办理单位信息变更！",
    "employer.info_change_rejected": (
        "尊敬的{employer_name}，您提交的单位信息变更业务未通过中心审核。审批意见：{opinion}"
    ),
}


def add_message(event: dict[str, Any]) -> None:
    data = event["data"]
    db.session().add(InboxItem(
        employer_no=data["employer_no"], box=MESSAGE, business_type=data["business_type"],
        business_id=data["business_id"], title=data["title"],
        content=MESSAGES[event["type"]].format(**data), source_event_id=event["id"],
    ))


def list_box(employer_no: str, box: str, page: int, per_page: int) -> tuple[list[InboxItem], int]:
    if box not in BOXES:
        raise BusinessError("不存在该列表", 404)
    session = db.session()
    where = (InboxItem.employer_no == employer_no) & (InboxItem.box == box)
    total = session.scalar(select(func.count()).select_from(InboxItem).where(where)) or 0
    query = select(InboxItem).where(where).order_by(InboxItem.id.desc()).offset((page - 1) * per_page).limit(per_page)
    return list(session.scalars(query)), total


def counts(employer_no: str) -> dict[str, int]:
    query = (
        select(InboxItem.box, func.count())
        .where(InboxItem.employer_no == employer_no)
        .group_by(InboxItem.box)
    )
    found = {box: n for box, n in db.session().execute(query)}
    return {box: found.get(box, 0) for box in BOXES}


def get_item(employer_no: str, item_id: int) -> InboxItem:
    item = db.session().get(InboxItem, item_id)
    # Another employer's item is reported as missing, not as forbidden: its existence is not shown.
    if item is None or item.employer_no != employer_no:
        raise BusinessError("消息不存在或已删除", 404)
    return item


def mark_read(employer_no: str, item_id: int) -> InboxItem:
    """Once: of several clicks at the same moment one moves the message, the others read 409 (the
    conditional update's row count decides; SQLite ignores row locks)."""
    item = get_item(employer_no, item_id)
    session = db.session()
    moved = session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.employer_no == employer_no, InboxItem.box == MESSAGE)
        .values(box=READ, read_at=db.utcnow())
    )
    session.commit()
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise BusinessError("只有消息可以标为已阅", 409)
    session.refresh(item)
    return item


def delete(employer_no: str, item_id: int) -> None:
    item = get_item(employer_no, item_id)
    if item.box not in (MESSAGE, READ):
        raise BusinessError("只有消息和已阅消息可以删除", 409)
    session = db.session()
    deleted = session.execute(
        sql_delete(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.employer_no == employer_no, InboxItem.box.in_((MESSAGE, READ)))
    )
    session.commit()
    if deleted.rowcount != 1:  # type: ignore[attr-defined]  # deleted by a simultaneous click
        raise BusinessError("消息不存在或已删除", 404)
