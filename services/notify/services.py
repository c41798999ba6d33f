"""The employer's inboxes, filled from workflow and domain events."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hall_common import db
from hall_common.errors import BusinessError

from . import live, tracks
from .filters import Filters
from .live import publish_change as publish_change  # the live notice API: services.publish_change(...)
from .models import BOXES, MESSAGE, READ, TRACK_BOXES, BoxCount, InboxItem

# event type -> message text; fields come from the event's data, {reference} from reference() below
MESSAGES: dict[str, str] = {
    "employer.info_changed": "尊敬的{employer_name}，您已完成办理单位信息变更（{reference}）！",
    "employer.info_change_rejected": (
        "尊敬的{employer_name}，您提交的单位信息变更业务（{reference}）未通过中心审核。审批意见：{opinion}"
    ),
}
MAX_REFERENCE_FIELDS = 5


def reference(data: dict[str, Any]) -> str:
    """Which business a message is about: its number and what it changed ("业务编号12，变更项：单位地址、
    联系电话"), so two messages of the same business type read differently."""
    text = f"业务编号{data.get('business_id', '')}"
    labels = [str(row.get("label") or row.get("field")) for row in data.get("changes") or []
              if isinstance(row, dict) and (row.get("label") or row.get("field"))]
    if labels:
        more = f"等{len(labels)}项" if len(labels) > MAX_REFERENCE_FIELDS else ""
        text += f"，变更项：{'、'.join(labels[:MAX_REFERENCE_FIELDS])}{more}"
    return text


def bump(session: Session, employer_no: str, box: str, delta: int) -> None:
    """Change a box's count by ``delta`` in the caller's transaction, beside the insert, move or delete
    it counts. One atomic upsert (``n = n + delta`` in the database, never read-modify-write in Python),
    so simultaneous writers each add their own step and the first item of a box creates its row."""
    session.execute(_bump_statement(session.get_bind().dialect.name),
                    {"b_employer_no": employer_no, "b_box": box, "b_n": delta})
    live.mark(session, employer_no)  # every inbox change moves a count: the open pages hear of it


@lru_cache(maxsize=4)
def _bump_statement(dialect_name: str) -> Any:
    """Built once per dialect with bound parameters: it runs with nearly every event notify handles."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    table = BoxCount.__table__
    insert = dialect.insert(table).values(employer_no=bindparam("b_employer_no", type_=table.c.employer_no.type),
                                          box=bindparam("b_box", type_=table.c.box.type),
                                          n=bindparam("b_n", type_=table.c.n.type))
    return insert.on_conflict_do_update(
        index_elements=[table.c.employer_no, table.c.box], set_={"n": table.c.n + insert.excluded.n},
    )


def bump_each(session: Session, employer_nos: list[str], box: str) -> None:
    """One more item in ``box`` for each of these (distinct) employers: one upsert for a whole batch."""
    if not employer_nos:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = BoxCount.__table__
    insert = dialect.insert(table).values([{"employer_no": no, "box": box, "n": 1} for no in employer_nos])
    session.execute(insert.on_conflict_do_update(
        index_elements=[table.c.employer_no, table.c.box], set_={"n": table.c.n + insert.excluded.n},
    ))
    for employer_no in employer_nos:
        live.mark(session, employer_no)


def add_message(event: dict[str, Any]) -> None:
    data = event["data"]
    session = db.session()
    session.add(InboxItem(
        employer_no=data["employer_no"], box=MESSAGE, business_type=data["business_type"],
        business_id=data["business_id"], title=data["title"],
        content=MESSAGES[event["type"]].format(**{**data, "reference": reference(data)}),
        source_event_id=event["id"],
    ))
    bump(session, data["employer_no"], MESSAGE, 1)


def list_box(employer_no: str, box: str, page: int, per_page: int,
             filters: Filters | None = None) -> tuple[list[InboxItem], int, dict[str, int]]:
    """One page of a box, newest first, its total and every box's count (the page's total and the tabs'
    figures in one call: the home page needs both). Unfiltered, the total is the maintained count; a
    filter (date, business) counts its matches."""
    if box not in BOXES:
        raise BusinessError("不存在该列表", 404)
    session = db.session()
    where = [InboxItem.employer_no == employer_no, InboxItem.box == box]
    if filters:
        where += filters.on(InboxItem.created_at, InboxItem.business_type)
    query = select(InboxItem).where(*where).order_by(InboxItem.id.desc()).offset((page - 1) * per_page).limit(per_page)
    box_counts = counts(employer_no)
    total = box_counts[box]
    if filters:
        total = session.scalar(select(func.count()).select_from(InboxItem).where(*where)) or 0
    return list(session.scalars(query)), total, box_counts


def box_page(employer_no: str, box: str, page: int, per_page: int,
             initiator: str | None = None, filters: Filters | None = None) -> tuple[list[Any], int, dict[str, int]]:
    """One page of any box with its total and every box's count (the tabs beside the page).

    待办 / 已办 / 我发起的 list the employer's approval processes (tracks); 消息 / 已阅 list inbox items."""
    if box in TRACK_BOXES:
        items, total = tracks.list_box(employer_no, box, page, per_page, initiator, filters)
        return items, total, all_counts(employer_no, initiator)
    messages, total, box_counts = list_box(employer_no, box, page, per_page, filters)
    return list(messages), total, {**box_counts, **tracks.counts(employer_no, initiator)} if initiator else box_counts


def all_counts(employer_no: str, initiator: str | None = None) -> dict[str, int]:
    return {**counts(employer_no), **tracks.counts(employer_no, initiator)}


def counts(employer_no: str) -> dict[str, int]:
    """Every box's size from the maintained counts: one indexed read whatever the boxes hold."""
    query = select(BoxCount.box, BoxCount.n).where(BoxCount.employer_no == employer_no)
    found = {box: n for box, n in db.session().execute(query)}
    return {box: found.get(box, 0) for box in BOXES}


def get_item(employer_no: str, item_id: int) -> InboxItem:
    item = db.session().get(InboxItem, item_id)
    # Another employer's item is reported as missing, not as forbidden: its existence is not shown.
    if item is None or item.employer_no != employer_no:
        raise BusinessError("消息不存在或已删除", 404)
    return item


def mark_read(employer_no: str, item_id: int) -> dict[str, Any]:
    """Once: of several clicks at the same moment one moves the message, the others read 409 (the
    conditional update's row count decides; SQLite ignores row locks). The answer is the row as the
    update left it (RETURNING): a 删除 clicked at the same moment may remove it right after the
    commit, and reading it again then was a 500."""
    get_item(employer_no, item_id)
    session = db.session()
    table = cast(Table, InboxItem.__table__)
    moved = session.execute(
        update(table)
        .where(table.c.id == item_id, table.c.employer_no == employer_no, table.c.box == MESSAGE)
        .values(box=READ, read_at=db.utcnow())
        .returning(*table.c)
    ).mappings().one_or_none()
    if moved is None:
        session.rollback()
        raise BusinessError("只有消息可以标为已阅", 409)
    bump(session, employer_no, MESSAGE, -1)
    bump(session, employer_no, READ, 1)
    session.commit()
    return dict(moved)


def delete(employer_no: str, item_id: int) -> None:
    item = get_item(employer_no, item_id)
    if item.box not in (MESSAGE, READ):
        raise BusinessError("只有消息和已阅消息可以删除", 409)
    session = db.session()
    # RETURNING tells which box the row left: a simultaneous 标为已阅 may have moved it since get_item.
    deleted = session.execute(
        sql_delete(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.employer_no == employer_no, InboxItem.box.in_((MESSAGE, READ)))
        .returning(InboxItem.box)
    ).scalar_one_or_none()
    if deleted is None:  # deleted by a simultaneous click
        session.rollback()
        raise BusinessError("消息不存在或已删除", 404)
    bump(session, employer_no, deleted, -1)
    session.commit()
