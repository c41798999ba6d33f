"""Member reads: the member list, the type-ahead search, the status counts."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import func, select

from hall_common import db

from .models import STATUS_NAMES, Member
from .statuses import members_by_number

SEARCH_LIMIT = 10


def member_view(member: Member) -> dict[str, Any]:
    """The member with its monthly amount as stored when it was set (registration, base adjustment):
    the policy of that month rounded it, and a later policy does not change what the member owes."""
    return {
        "member": member,
        "status_name": STATUS_NAMES.get(member.status, member.status),
        "employer_amount": member.employer_amount,
        "personal_amount": member.personal_amount,
        "monthly_amount": member.employer_amount + member.personal_amount,
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


def _prefix(column: Any, text: str) -> Any:
    """``column LIKE 'text%'`` as a range both databases answer from the index (SQLite's LIKE is
    case-insensitive and skips a plain index)."""
    upper = text[:-1] + chr(ord(text[-1]) + 1)
    return (column >= text) & (column < upper)


def search(employer_no: str, text: str, status: str | None) -> list[dict[str, Any]]:
    """The member field's type-ahead: by member number (whole, or the sequence after the employer's
    number), ID number or name, each a prefix, at most ten, from an employer of any size."""
    text = unicodedata.normalize("NFKC", text).strip().upper()
    if not text:
        return []
    session = db.session()
    mine = Member.employer_no == employer_no
    if status:
        mine = mine & (Member.status == status)
    found: dict[str, Member] = {}
    wheres = []
    if text.isascii() and text.isalnum():
        if text.isdigit() and len(text) <= 6:
            wheres.append((Member.member_no.in_([employer_no + text.zfill(4), employer_no + text.zfill(6)]),
                           Member.member_no))
        wheres += [(_prefix(Member.member_no, text), Member.member_no), (_prefix(Member.id_number, text),
                                                                          Member.id_number)]
    else:
        wheres.append((_prefix(Member.name, text), Member.name))
    # Each in the order of the index it ranges over: ten rows read, whatever the employer's size.
    for where, order in wheres:
        if len(found) >= SEARCH_LIMIT:
            break
        query = select(Member).where(mine, where).order_by(order).limit(SEARCH_LIMIT)
        for member in session.scalars(query):
            found.setdefault(member.member_no, member)
    return [{"member_no": m.member_no, "name": m.name, "id_number": m.id_number, "status": m.status,
             "status_name": STATUS_NAMES.get(m.status, m.status)} for m in list(found.values())[:SEARCH_LIMIT]]


def lookup(employer_no: str, member_nos: list[str]) -> list[dict[str, Any]]:
    """The employer's members of these numbers, for another service's checks of its rows (补缴); a
    number of another employer is simply not found."""
    found = members_by_number(employer_no, member_nos)
    return [{"member_no": m.member_no, "name": m.name, "id_number": m.id_number, "status": m.status,
             "status_name": STATUS_NAMES.get(m.status, m.status), "first_month": m.first_month}
            for m in found.values()]
