"""基数调整's batch-edit grid (批量录入) and the single entry's preview.

The grid pages through an employer's 正常 members in member number order with their current figures and,
for each, what the roster already holds for them (a draft the operator may overwrite, or a business still
in approval, not editable). A page is found on the index (employer_no, status, member_no) alone: the
member numbers of the page first, then those members, so a page deep into 100,000 members reads the
index, not the table (migration 0006b_grid_index).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, or_, select

from hall_common import db

from . import adjust_figures as figures
from .adjustment import TYPE
from .businesses import BOOK
from .models import NORMAL, Member


def _where(employer_no: str, q: str, member_no: str) -> Any:
    where = (Member.employer_no == employer_no) & (Member.status == NORMAL)
    if member_no:
        where = where & (Member.member_no == member_no)
    if q:
        where = where & or_(Member.member_no.startswith(q, autoescape=True), Member.name.startswith(q, autoescape=True))
    return where


def grid(employer_no: str, category: str, q: str, member_no: str, page: int, per_page: int) -> dict[str, Any]:
    session = db.session()
    where = _where(employer_no, q, member_no)
    total = session.scalar(select(func.count()).select_from(Member).where(where)) or 0
    numbers = _page_numbers(where, total, page, per_page)
    members = {m.member_no: m for m in session.scalars(select(Member).where(Member.member_no.in_(numbers)))} \
        if numbers else {}
    held = _held(employer_no, numbers)
    items = [_item(members[n], held.get(n)) for n in numbers if n in members]
    return {"items": items, "total": total, "page": page, "per_page": per_page, "category": category}


def _page_numbers(where: Any, total: int, page: int, per_page: int) -> list[str]:
    """The page's member numbers. An offset steps through the index one entry at a time, so a page past
    the middle is read from the end backwards: no page steps over more than half the list."""
    start = (page - 1) * per_page
    if start >= total:
        return []
    query = select(Member.member_no).where(where)
    if start < total // 2:
        return list(db.session().scalars(query.order_by(Member.member_no).offset(start).limit(per_page)))
    end = min(start + per_page, total)
    backwards = db.session().scalars(query.order_by(Member.member_no.desc()).offset(total - end).limit(end - start))
    return list(reversed(list(backwards)))


def _held(employer_no: str, numbers: list[str]) -> dict[str, Any]:
    """The roster rows holding these members: drafts, staged imports, businesses in approval."""
    if not numbers:
        return {}
    row = BOOK.models.row
    found = db.session().scalars(select(row).where(row.employer_no == employer_no, row.business_type == TYPE,
                                                   row.claim.in_(numbers)))
    return {r.claim: r for r in found}


def _item(member: Member, row: Any | None) -> dict[str, Any]:
    now = figures.current(member)
    item: dict[str, Any] = {
        "member_no": member.member_no, "name": member.name, "id_number": member.id_number,
        "base": f"{now.base:.2f}", "employer_ratio": figures.percent(now.employer_ratio),
        "personal_ratio": figures.percent(now.personal_ratio), "amount": f"{now.amount:.2f}",
        "state": "", "row": None,
    }
    if row is not None:
        # A draft is the operator's to overwrite; a staged import row or a business in approval is not.
        item["state"] = "draft" if row.batch_id is None and not row.staged else "pending"
        keys = ("category", "base", "amount", "employer_ratio", "personal_ratio", "effective_month",
                "new_base", "new_amount", "new_ratio_text")
        item["row"] = {"id": row.id, **{k: row.data.get(k, "") for k in keys}}
    return item


def preview(employer_no: str, values: Mapping[str, str]) -> dict[str, Any]:
    """The row 录入清册 would add, computed and checked as it would be (a refusal is the same 422)."""
    _claim, data = BOOK.entry(employer_no, TYPE, values)
    return dict(data)

