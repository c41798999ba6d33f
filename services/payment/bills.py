"""汇缴: the monthly remittance bill of an employer, and paying unpaid bills from the unallocated amount.

A bill is made once per employer and month from the monthly amounts of the employer's NORMAL members in
force for that month, as the member service reports them (``GET /employers/<e>/monthly-amounts``,
service token with ``member_read``); the bill keeps its own lines (what was owed), not the terms.
"Once" is the unique (employer_no, month) insert: a retried or concurrent job inserts nothing.

How money meets bills (the one rule, ``pay_due``): every receipt first goes whole to the unallocated
amount; then the employer's unpaid bills are paid oldest first, each only when the unallocated amount
covers it whole, and the first one it does not cover stops the round (a newer bill is never paid before
an older one). Paying a bill takes its amount out of the unallocated amount (source "bill-pay:<id>")
and books it as type 01 with one line per bill line (source "bill:<id>"), in the caller's transaction.
So a receipt that, with the unallocated amount, covers the oldest bill exactly or more pays it, and what
is left stays unallocated; a bill made when enough money already waits is paid at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from hall_common import db
from hall_common.client import ServiceClient, ServiceError
from hall_common.db import utcnow
from hall_common.errors import BusinessError
from hall_common.outbox import emit
from hall_common.prints import HALL_TIME
from hall_common.service_tokens import own_token

from .ledger import BATCH, Line, book, take_unallocated
from .models import BillLine, EmployerAccount, RemittanceBill

log = logging.getLogger(__name__)
REMITTANCE = "01"
PAGE = 1000  # members per request to the member service
MonthLines = Callable[[str, date], list[tuple[str, Decimal]]]


def hall_today() -> date:
    """The hall's date (Beijing), whatever the server's zone: bills and receipts are dated by it."""
    return datetime.now(UTC).astimezone(HALL_TIME).date()


def summary(month: date) -> str:
    return f"{month:%Y年%m月}汇缴"


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def member_amounts(employer_no: str, month: date) -> list[tuple[str, Decimal]]:
    """(member_no, monthly amount) of the employer's normal members in force for ``month``, asked of the
    member service with this service's own token (a worker has no user's). Unit tests replace it."""
    client = ServiceClient("member", own_token("payment"))
    lines: list[tuple[str, Decimal]] = []
    after = ""
    while True:
        try:
            page: dict[str, Any] = client.get(f"/employers/{employer_no}/monthly-amounts", month=f"{month:%Y%m}",
                                              after=after, per_page=PAGE)
        except ServiceError as exc:
            raise BusinessError(f"无法读取缴存人月缴存额：{exc.message}", 503) from exc
        lines.extend((row["member_no"], Decimal(row["monthly_amount"])) for row in page["items"])
        if not page.get("next"):
            return lines
        after = page["next"]


def make_bill(session: Session, employer_no: str, month: date,
              lines: Iterable[tuple[str, Decimal]]) -> tuple[RemittanceBill | None, bool]:
    """Store the employer's bill for ``month`` unless it exists; (bill, made now). No normal member with
    an amount: no bill (nothing is owed). The caller commits."""
    month = first_of_month(month)
    owed = [(m, a) for m, a in lines if a > 0]
    if not owed:
        return None, False
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, RemittanceBill.__table__)
    bill_id = session.execute(dialect_insert(table).values(
        employer_no=employer_no, month=month, amount=sum((a for _, a in owed), Decimal("0.00")),
        headcount=len(owed), status="unpaid", created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["employer_no", "month"]).returning(table.c.id)).scalar_one_or_none()
    if bill_id is None:
        return session.scalar(select(RemittanceBill).where(RemittanceBill.employer_no == employer_no,
                                                           RemittanceBill.month == month)), False
    rows = [{"bill_id": bill_id, "member_no": m, "amount": a} for m, a in owed]
    for start in range(0, len(rows), BATCH):
        session.execute(insert(BillLine), rows[start:start + BATCH])
    return session.get_one(RemittanceBill, bill_id), True


def pay_due(session: Session, employer_no: str, on: date) -> list[RemittanceBill]:
    """Pay the employer's unpaid bills from its unallocated amount by the rule above; the bills paid.
    The no-op update first takes the employer's row lock (PostgreSQL) or the write lock (SQLite), so the
    amount read next stays what this transaction sees until it commits."""
    locked = cast(CursorResult[Any], session.execute(
        update(EmployerAccount).where(EmployerAccount.employer_no == employer_no)
        .values(unallocated=EmployerAccount.unallocated))).rowcount
    if locked != 1:
        return []
    have = session.scalar(select(EmployerAccount.unallocated).where(EmployerAccount.employer_no == employer_no))
    paid: list[RemittanceBill] = []
    unpaid = session.scalars(select(RemittanceBill).where(
        RemittanceBill.employer_no == employer_no, RemittanceBill.status == "unpaid").order_by(RemittanceBill.month))
    for bill in list(unpaid):
        if have is None or have < bill.amount:
            break
        _pay(session, bill, on)
        have -= bill.amount
        paid.append(bill)
    return paid


def _pay(session: Session, bill: RemittanceBill, on: date) -> None:
    label = summary(bill.month)
    take_unallocated(session, employer_no=bill.employer_no, amount=bill.amount, on=on, summary=label,
                     source=f"bill-pay:{bill.id}")
    lines = [Line(m, a) for m, a in session.execute(
        select(BillLine.member_no, BillLine.amount).where(BillLine.bill_id == bill.id).order_by(BillLine.id))]
    entry, _ = book(session, employer_no=bill.employer_no, detail_type=REMITTANCE, summary=label, booking_date=on,
                    source=f"bill:{bill.id}", lines=lines)
    # Conditional: a bill is marked paid once; the unique sources above already kept the money from moving twice.
    session.execute(update(RemittanceBill).where(RemittanceBill.id == bill.id, RemittanceBill.status == "unpaid")
                    .values(status="paid", entry_id=entry.id, paid_at=utcnow()))
    session.refresh(bill)
    emit(session, "payment.remittance_paid", {
        "employer_no": bill.employer_no, "month": f"{bill.month:%Y-%m}", "amount": f"{bill.amount:,.2f}",
        "headcount": bill.headcount, "serial_no": entry.serial_no, "booked_on": on.isoformat()},
        subject=f"bill/{bill.id}")


def make_month(month: date, today: date, fetch: MonthLines | None = None) -> dict[str, int]:
    """The beat job: every employer with an account gets its bill for ``month`` (once), and what its
    unallocated amount covers is paid. One transaction per employer: one failing employer (its members
    unreadable) leaves the others billed, and the next run makes its bill."""
    fetch = fetch or member_amounts
    session = db.session()
    employers = list(session.scalars(select(EmployerAccount.employer_no).order_by(EmployerAccount.employer_no)))
    session.rollback()
    made = failed = 0
    for employer_no in employers:
        try:
            lines = fetch(employer_no, month)
            _, now = make_bill(session, employer_no, month, lines)
            pay_due(session, employer_no, today)
            session.commit()
            made += now
        except Exception:
            session.rollback()
            failed += 1
            log.exception("the %s bill of employer %s was not made; the next run tries again", month, employer_no)
    return {"employers": len(employers), "made": made, "failed": failed}
