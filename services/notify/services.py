"""The employer's inboxes, filled from workflow and domain events."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy import delete as sql_delete

from hall_common import db
from hall_common.errors import BusinessError

from . import tracks

# The boxes' maintained counts (their own module: tracks.py keeps them too), named here as before.
from .boxcounts import bump as bump
from .boxcounts import bump_each as bump_each
from .boxcounts import counts as counts
from .filters import Filters
from .live import publish_change as publish_change  # the live notice API: services.publish_change(...)
from .models import BOXES, MESSAGE, READ, TRACK_BOXES, InboxItem


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
