"""Member queries (the member business of ch. 4 and 8-12 builds on this model)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hall_common import db
from hall_common.money import monthly_amount

from .models import STATUS_NAMES, Member


def member_view(member: Member) -> dict[str, Any]:
    employer_part, personal_part, total = monthly_amount(member.base, member.employer_ratio, member.personal_ratio)
    return {
        "member": member,
        "status_name": STATUS_NAMES.get(member.status, member.status),
        "employer_amount": employer_part,
        "personal_amount": personal_part,
        "monthly_amount": total,
    }


def list_members(employer_no: str, status: str | None, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    session = db.session()
    where = Member.employer_no == employer_no
    if status:
        where = where & (Member.status == status)
    total = session.scalar(select(func.count()).select_from(Member).where(where)) or 0
    query = select(Member).where(where).order_by(Member.member_no).offset((page - 1) * per_page).limit(per_page)
    return [member_view(m) for m in session.scalars(query)], total


def status_counts(employer_no: str) -> dict[str, int]:
    query = select(Member.status, func.count()).where(Member.employer_no == employer_no).group_by(Member.status)
    return {status: n for status, n in db.session().execute(query)}
