"""The one way money moves: a journal entry with its member lines, and the unallocated amount.

Every booking (汇缴 allocation, 补缴, interest) goes through ``book``; every change of the unallocated
amount through ``add_unallocated`` / ``take_unallocated``. Both are idempotent by ``source``: a unique
column decides, inside a savepoint, so a redelivered event or a retried job finds what was booked
instead of booking twice, on SQLite as on PostgreSQL (INSERT ... ON CONFLICT DO NOTHING: no savepoint,
which SQLite's driver would turn into a commit when it opens the transaction). Balances move by relative SQL updates
(``balance = balance + x``), never read-modify-write, so concurrent bookings lose nothing.

The invariant kept here: an employer's balance == the sum of its members' balances == the sum of the
amounts and interest of its journal lines.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from hall_common.db import utcnow
from hall_common.errors import BusinessError

from .models import EmployerAccount, JournalEntry, JournalLine, MemberAccount, UnallocatedMovement

ZERO = Decimal("0.00")
_MEMBERS = cast(Table, MemberAccount.__table__)
# Core, executemany: one statement for a batch of members (the ORM's bulk update wants full rows).
_MOVE_MEMBER = (update(_MEMBERS).where(_MEMBERS.c.member_no == bindparam("m"))
                .values(balance=_MEMBERS.c.balance + bindparam("x", type_=_MEMBERS.c.balance.type)))
BATCH = 5000  # lines per executemany: bounded statements for a 100,000-member settlement


@dataclass(frozen=True)
class Line:
    member_no: str
    amount: Decimal = ZERO
    interest: Decimal = ZERO


def serial_no(entry_id: int, booking_date: date) -> str:
    """业务流水号: the booking date and the entry's number, unique because the number is."""
    return f"{booking_date:%Y%m%d}{entry_id:010d}"


def booked(session: Session, source: str) -> JournalEntry | None:
    return session.scalar(select(JournalEntry).where(JournalEntry.source == source))


def book(session: Session, *, employer_no: str, detail_type: str, summary: str, booking_date: date,
         source: str, lines: Sequence[Line]) -> tuple[JournalEntry, bool]:
    """Book one journal entry with its member lines and move the balances; returns the entry and
    whether this call booked it (False: ``source`` was booked before, nothing moved again). The caller
    commits. Member accounts missing so far (a member registered since) are opened at zero."""
    if not lines:
        raise BusinessError("记账明细为空", 422)
    amount = sum((line.amount for line in lines), ZERO)
    interest = sum((line.interest for line in lines), ZERO)
    entry_id = _insert_once(session, JournalEntry, {
        "serial_no": uuid.uuid4().hex[:24], "employer_no": employer_no, "booking_date": booking_date,
        "detail_type": detail_type, "summary": summary, "amount": amount, "interest": interest,
        "headcount": len({line.member_no for line in lines}), "source": source, "created_at": utcnow()}, "source")
    if entry_id is None:
        existing = booked(session, source)
        assert existing is not None
        return existing, False
    entry = session.get_one(JournalEntry, entry_id)  # numbered from its id now that it has one
    entry.serial_no = serial_no(entry.id, booking_date)
    _open_accounts(session, employer_no, [line.member_no for line in lines])
    rows = [{"entry_id": entry.id, "employer_no": employer_no, "member_no": line.member_no,
             "booking_date": booking_date, "detail_type": detail_type, "amount": line.amount,
             "interest": line.interest} for line in lines]
    moves = [{"m": line.member_no, "x": line.amount + line.interest} for line in lines]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(JournalLine), rows[start:start + BATCH])
        session.connection().execute(_MOVE_MEMBER, moves[start:start + BATCH])
    session.execute(update(EmployerAccount).where(EmployerAccount.employer_no == employer_no)
                    .values(balance=EmployerAccount.balance + amount + interest))
    session.flush()
    return entry, True


def _open_accounts(session: Session, employer_no: str, member_nos: Sequence[str]) -> None:
    if session.get(EmployerAccount, employer_no) is None:  # opened here unless a concurrent booking did
        _insert_once(session, EmployerAccount, {"employer_no": employer_no, "balance": ZERO, "unallocated": ZERO},
                     "employer_no")
    listed = sorted(set(member_nos))
    for start in range(0, len(listed), BATCH):
        chunk = listed[start:start + BATCH]
        have = set(session.scalars(select(MemberAccount.member_no).where(MemberAccount.member_no.in_(chunk))))
        for member_no in chunk:
            if member_no not in have:
                _insert_once(session, MemberAccount, {"member_no": member_no, "employer_no": employer_no,
                                                      "balance": ZERO}, "member_no")


def _insert_once(session: Session, model: Any, values: dict[str, Any], key: str) -> Any:
    """Insert the row unless one with the same ``key`` exists; its primary key, or None if it existed."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = model.__table__
    return session.execute(insert(table).values(values).on_conflict_do_nothing(index_elements=[key])
                           .returning(*table.primary_key.columns)).scalar_one_or_none()


def add_unallocated(session: Session, *, employer_no: str, amount: Decimal, on: date, summary: str,
                    source: str) -> bool:
    """Money in to the unallocated amount; False when ``source`` was recorded before."""
    if not _movement(session, employer_no, amount, on, summary, source):
        return False
    _open_accounts(session, employer_no, [])
    session.execute(update(EmployerAccount).where(EmployerAccount.employer_no == employer_no)
                    .values(unallocated=EmployerAccount.unallocated + amount))
    return True


def take_unallocated(session: Session, *, employer_no: str, amount: Decimal, on: date, summary: str,
                     source: str) -> bool:
    """Pay ``amount`` out of the unallocated amount, once per ``source``. A conditional update decides
    (``unallocated >= amount``), so two concurrent payments can never overspend it; raises a
    BusinessError naming the shortfall when the money is not there (the caller rolls back). False:
    taken before."""
    if not _movement(session, employer_no, -amount, on, summary, source):
        return False  # the source decides first: a concurrent twin waits for it, then finds it taken
    taken = cast(CursorResult[Any], session.execute(update(EmployerAccount)
                            .where(EmployerAccount.employer_no == employer_no, EmployerAccount.unallocated >= amount)
                            .values(unallocated=EmployerAccount.unallocated - amount))).rowcount
    if taken != 1:  # the caller rolls back, the movement above with it
        have = session.scalar(select(EmployerAccount.unallocated).where(EmployerAccount.employer_no == employer_no))
        have = have if have is not None else ZERO
        raise BusinessError(shortfall(amount, have), 422)
    return True


def shortfall(need: Decimal, have: Decimal) -> str:
    """The refusal of a payment the unallocated amount does not cover, naming the shortfall."""
    return f"未分配金额不足：需{need:,.2f}元，现有{have:,.2f}元，差额{need - have:,.2f}元"


def _movement(session: Session, employer_no: str, amount: Decimal, on: date, summary: str, source: str) -> bool:
    return _insert_once(session, UnallocatedMovement, {
        "employer_no": employer_no, "booked_on": on, "amount": amount, "summary": summary, "source": source,
        "created_at": utcnow()}, "source") is not None


def unallocated_on(session: Session, employer_no: str, on: date) -> Decimal:
    """The unallocated amount at the end of ``on`` (the account view of a past period)."""
    total = session.scalar(select(func.coalesce(func.sum(UnallocatedMovement.amount), ZERO))
                           .where(UnallocatedMovement.employer_no == employer_no,
                                  UnallocatedMovement.booked_on <= on))
    return Decimal(total or ZERO)


def balance_on(session: Session, employer_no: str, on: date) -> Decimal:
    """The employer's balance at the end of ``on``: the sum of its journal lines booked until then."""
    total = session.scalar(select(func.coalesce(func.sum(JournalLine.amount + JournalLine.interest), ZERO))
                           .where(JournalLine.employer_no == employer_no, JournalLine.booking_date <= on))
    return Decimal(total or ZERO)
