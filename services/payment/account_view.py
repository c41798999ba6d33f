"""单位账户信息 (manual 7.2) over a period: opening balance, increases, decreases, closing balance and
the unallocated amount, for the whole period and month by month.

Everything is summed from the journal entries (and the unallocated movements), the rows 7.3 lists:
an entry that adds money (amount + interest > 0) is an increase, one that takes money out a decrease,
so a period's increases and decreases are the sums of 7.3's rows to the fen. The opening balance is
``ledger.balance_on`` the day before (its journal lines; an entry's amount is the sum of its lines), so
the closing balance is ``balance_on`` the period's last day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from hall_common import db
from hall_common.prints import HALL_TIME

from .ledger import ZERO, balance_on, unallocated_on
from .models import JournalEntry, UnallocatedMovement


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    opening: Decimal
    increase: Decimal
    decrease: Decimal
    closing: Decimal
    unallocated: Decimal  # at the end of the period

    def row(self) -> dict[str, Any]:
        return {"period": f"{self.start} 至 {self.end}", "start_date": self.start, "end_date": self.end,
                "opening": self.opening, "increase": self.increase, "decrease": self.decrease,
                "closing": self.closing, "unallocated": self.unallocated}


def hall_today() -> date:
    return datetime.now(UTC).astimezone(HALL_TIME).date()


def period_bounds(filters: dict[str, Any]) -> tuple[date, date]:
    """The period asked for; without dates, this year up to today (the hall's calendar)."""
    end = filters.get("end_date") or hall_today()
    start = filters.get("start_date") or min(date(end.year, 1, 1), end)
    return start, end


def day_before(day: date) -> date | None:
    """None before the calendar's first day (a period from 0001-01-01 has nothing before it)."""
    return day - timedelta(days=1) if day > date.min else None


def _months(start: date, end: date) -> list[tuple[date, date]]:
    spans = []
    first = start
    while first <= end:
        if first.year == date.max.year and first.month == 12:  # no month follows December 9999
            spans.append((first, end))
            break
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        last = min(following - timedelta(days=1), end)
        spans.append((first, last))
        first = following
    return spans


def _daily_entries(employer_no: str, start: date, end: date) -> dict[date, tuple[Decimal, Decimal]]:
    signed = JournalEntry.amount + JournalEntry.interest
    rows = db.session().execute(
        select(JournalEntry.booking_date, func.sum(case((signed > ZERO, signed), else_=ZERO)),
               func.sum(case((signed < ZERO, signed), else_=ZERO)))
        .where(JournalEntry.employer_no == employer_no, JournalEntry.booking_date >= start,
               JournalEntry.booking_date <= end)
        .group_by(JournalEntry.booking_date))
    return {day: (Decimal(up or ZERO), -Decimal(down or ZERO)) for day, up, down in rows}


def _daily_unallocated(employer_no: str, start: date, end: date) -> dict[date, Decimal]:
    rows = db.session().execute(
        select(UnallocatedMovement.booked_on, func.sum(UnallocatedMovement.amount))
        .where(UnallocatedMovement.employer_no == employer_no, UnallocatedMovement.booked_on >= start,
               UnallocatedMovement.booked_on <= end)
        .group_by(UnallocatedMovement.booked_on))
    return {day: Decimal(total or ZERO) for day, total in rows}


def account_periods(employer_no: str, start: date, end: date) -> tuple[Period, list[Period]]:
    """(the whole period, each calendar month of it clipped to the period), oldest month first."""
    session = db.session()
    before = day_before(start)
    opening = balance_on(session, employer_no, before) if before else ZERO
    unallocated = unallocated_on(session, employer_no, before) if before else ZERO
    lines = _daily_entries(employer_no, start, end)
    moves = _daily_unallocated(employer_no, start, end)
    ups: dict[tuple[int, int], Decimal] = {}
    downs: dict[tuple[int, int], Decimal] = {}
    ins: dict[tuple[int, int], Decimal] = {}
    for day, (up, down) in lines.items():
        ups[day.year, day.month] = ups.get((day.year, day.month), ZERO) + up
        downs[day.year, day.month] = downs.get((day.year, day.month), ZERO) + down
    for day, amount in moves.items():
        ins[day.year, day.month] = ins.get((day.year, day.month), ZERO) + amount
    months = []
    balance = opening
    for first, last in _months(start, end):
        key = (first.year, first.month)
        up, down = ups.get(key, ZERO), downs.get(key, ZERO)
        unallocated += ins.get(key, ZERO)
        months.append(Period(first, last, balance, up, down, balance + up - down, unallocated))
        balance = balance + up - down
    whole = Period(start, end, opening, sum((m.increase for m in months), ZERO),
                   sum((m.decrease for m in months), ZERO), balance, unallocated)
    return whole, months
