"""Helpers of the interest tests: a payment app without demo data, bookings by date, a reference."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import Flask
from sqlalchemy import func, select

from hall_common import db
from services.payment import interest, ledger
from services.payment.models import EmployerAccount, JournalEntry, JournalLine, MemberAccount

RATES = interest.Rates(Decimal("0.015"), Decimal("0.015"))
AFTER_YEAR = date(2026, 7, 1)


def payment_app() -> Flask:
    from .conftest import make_app

    return make_app("payment", seed=False)


def deposit(employer_no: str, member_no: str, amount: str, on: date, source: str | None = None) -> None:
    """Book ``amount`` (negative: a withdrawal) to one member on ``on`` and commit."""
    session = db.session()
    ledger.book(session, employer_no=employer_no, detail_type="99", summary="测试记账", booking_date=on,
                source=source or f"test:{employer_no}:{member_no}:{on}:{amount}",
                lines=[ledger.Line(member_no, Decimal(amount))])
    session.commit()


def settle(year: int = 2026, rates: interest.Rates = RATES, day_basis: int = 360,
           max_batches: int | None = None) -> interest.InterestRun:
    return interest.settle(db.session(), year, rates, day_basis, "tester", date(year, 7, 1), max_batches)


def interest_of(member_no: str, year: int = 2026) -> Decimal:
    """The interest booked to one member by the year's settlement (0 when none)."""
    total = db.session().scalar(select(func.coalesce(func.sum(JournalLine.interest), 0)).where(
        JournalLine.member_no == member_no, JournalLine.detail_type == "09",
        JournalLine.booking_date == date(year, 6, 30)))
    return Decimal(total or 0)


def interest_entries(year: int = 2026) -> list[JournalEntry]:
    return list(db.session().scalars(select(JournalEntry).where(JournalEntry.source.like(f"interest:{year}:%"))
                                     .order_by(JournalEntry.employer_no)))


def settled_events(year: int = 2026) -> list[dict[str, object]]:
    """The ``payment.interest_settled`` events in the outbox for ``year``, by employer."""
    import json

    from hall_common.runtime import get_runtime

    model = get_runtime().plumbing.outbox
    events = [json.loads(p)["data"] for p in db.session().scalars(
        select(model.payload).where(model.type == "payment.interest_settled"))]
    return sorted((e for e in events if e["interest_year"] == year), key=lambda e: str(e["employer_no"]))


def reference(movements: list[tuple[date, Decimal]], year: int, rates: interest.Rates,
              day_basis: int = 360) -> Decimal:
    """Day by day, as a clerk would: each day of the year adds that day's closing balance (算头不算尾),
    split into what was carried in (only shrinking by withdrawals beyond the year's deposits, which
    the settlement does not distinguish) and the rest. Only valid when the rates are equal or no
    movement is negative, which is how the tests use it."""
    start, stop = date(year - 1, 7, 1), date(year, 7, 1)
    opening = sum((a for d, a in movements if d < start), Decimal(0))
    carried = opening * (stop - start).days
    product = Decimal(0)
    day = start
    balance = opening
    while day < stop:
        balance = opening + sum((a for d, a in movements if start <= d <= day), Decimal(0))
        product += balance
        day += timedelta(days=1)
    value = (carried * rates.carried + (product - carried) * rates.current) / day_basis
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def assert_invariant() -> None:
    """Each employer's balance == the sum of its members' balances == the sum of its journal lines."""
    session = db.session()
    for account in session.scalars(select(EmployerAccount)):
        members = session.scalar(select(func.coalesce(func.sum(MemberAccount.balance), 0))
                                 .where(MemberAccount.employer_no == account.employer_no))
        journal = ledger.balance_on(session, account.employer_no, date(9999, 12, 31))
        assert account.balance == Decimal(members or 0) == journal, account.employer_no
