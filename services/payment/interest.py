"""Interest settlement (结息) of an interest year, as DOMAIN.md states it.

Interest year Y runs from 1 July Y-1 (counted) to 1 July Y (not counted). Per member, from its journal
lines (never from the balances, which keep moving while a settlement runs):

- opening balance = the lines booked before 1 July Y-1 (last year's interest included);
- each line booked in the year moves the balance from its booking day on (算头不算尾: the new balance
  counts on the posting day), so the year's balance product (积数) is
  ``opening x days_in_year + sum(line x (1 July Y - booking day))``;
- the policy carries two rates: 上年结转利率 for what was carried in and 当年归集利率 for what came in
  during the year, so ``interest = (opening x days x carried + rest x current) / day_basis`` where rest is
  the movements' product (a withdrawal makes it smaller). With the two rates equal, as in the demo
  policy, this is DOMAIN.md's ``balance product x rate / day_basis`` exactly;
- rounded HALF_UP (hall_common.money) to the fen once, at the end, per member.

The rates are those of the policy in force on 30 June Y (the settlement date), read from the member
service with this service's token (policy_read); the day basis is HALL_INTEREST_DAY_BASIS. Both are
fixed on the run's progress row when it starts (interest_models.InterestRun).

Booked on 30 June Y as type 09 through ledger.book, one entry per employer with one line per member
(amount 0, interest x), source ``interest:<Y>:<employer_no>``: a rerun, or a second worker on the same
year, books nothing twice. The year's own interest lines (type 09 on 30 June Y) are left out of its
products; they earn from the next 1 July.

Set-based: one grouped query per batch of employers computes every member's opening balance and
movement product in SQL (exact integer fen on SQLite, NUMERIC on PostgreSQL); Python only multiplies
by the rates. Each batch's bookings and the run's cursor commit together, and the cursor moves by a
conditional update, so a killed worker's run goes on where it stopped and two workers never both
count one batch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Date, Integer, and_, case, func, literal, literal_column, not_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, type_coerce

from hall_common.coltypes import Money
from hall_common.db import utcnow
from hall_common.errors import BusinessError
from hall_common.money import to_money
from hall_common.outbox import emit

from . import ledger
from .interest_models import InterestRun
from .models import EmployerAccount, JournalLine

INTEREST_TYPE = "09"
EMPLOYERS_PER_BATCH = 200
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Rates:
    current: Decimal  # 当年归集利率, a fraction (0.015 is 1.5%)
    carried: Decimal  # 上年结转利率


@dataclass(frozen=True)
class Year:
    year: int

    @property
    def start(self) -> date:
        return date(self.year - 1, 7, 1)

    @property
    def end(self) -> date:
        """The settlement and booking date, 30 June."""
        return date(self.year, 6, 30)

    @property
    def stop(self) -> date:
        """1 July: the first day not counted."""
        return self.end + timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.stop - self.start).days

    @property
    def label(self) -> str:
        return f"{self.year - 1}-{self.year}年度"


def member_interest(opening: Decimal, movements: Decimal, days: int, rates: Rates, day_basis: int) -> Decimal:
    """One member's interest: ``movements`` is the year's lines' product (yuan-days); rounded once."""
    product = opening * days * rates.carried + movements * rates.current
    return to_money(product / day_basis)


def check_year(year: int, today: date) -> Year:
    settled = Year(year)
    if year < 2000:
        raise BusinessError("年度应为2000到2100之间的年份", 422)
    if settled.end > today:
        raise BusinessError(f"结息年度{settled.label}尚未结束（{settled.end:%Y年%m月%d}日结息），不能结息", 422)
    return settled


def _days_to(stop: date, day: Any, dialect: str) -> ColumnElement[Any]:
    """Whole days from ``day`` (a date column) to ``stop``, as an SQL integer."""
    if dialect == "sqlite":  # dates are ISO text there
        return sql_cast(func.julianday(literal(stop.isoformat())) - func.julianday(day), Integer)
    return sql_cast(literal(stop, Date) - day, Integer)


def products(session: Session, year: Year, *which: ColumnElement[bool]) -> list[tuple[str, str, Decimal, Decimal]]:
    """(employer_no, member_no, opening balance, movements' product) of the members of the lines
    ``which`` selects (a range of employers), by member, from their journal lines: one grouped query."""
    line = JournalLine
    moved = line.amount + line.interest
    days = _days_to(year.stop, line.booking_date, session.get_bind().dialect.name)
    opening = func.sum(case((line.booking_date < year.start, moved), else_=literal_column("0")))
    movements = func.sum(case((line.booking_date >= year.start, moved * days), else_=literal_column("0")))
    own_interest = and_(line.detail_type == INTEREST_TYPE, line.booking_date == year.end)
    rows = session.execute(
        select(line.employer_no, line.member_no, type_coerce(opening, Money()), type_coerce(movements, Money()))
        .where(*which, line.booking_date <= year.end, not_(own_interest))
        .group_by(line.employer_no, line.member_no).order_by(line.employer_no, line.member_no))
    return [(e, m, Decimal(o or ZERO), Decimal(x or ZERO)) for e, m, o, x in rows]


def start(session: Session, year: Year, rates: Rates, day_basis: int, actor: str) -> InterestRun:
    """The year's run: started now (rates fixed) unless it exists; a failed run is set going again.
    The caller commits."""
    now = utcnow()
    total = session.scalar(select(func.count()).select_from(EmployerAccount)) or 0
    ledger._insert_once(session, InterestRun, {  # noqa: SLF001  (the ledger's one insert-unless-exists)
        "year": year.year, "status": "running", "current_rate": str(rates.current),
        "carried_rate": str(rates.carried), "day_basis": day_basis, "cursor": "", "employers_total": total,
        "employers_done": 0, "members_done": 0, "interest_total": ZERO, "started_by": actor, "error": "",
        "started_at": now, "updated_at": now}, "year")
    session.execute(update(InterestRun).where(InterestRun.year == year.year, InterestRun.status == "failed")
                    .values(status="running", error="", updated_at=now))
    return session.get_one(InterestRun, year.year, populate_existing=True)


def run_batch(session: Session, run: InterestRun) -> bool:
    """Settle the next batch of employers and move the cursor, in the caller's transaction (the caller
    commits). False when nothing was left: the run is marked done."""
    year = Year(run.year)
    cursor = run.cursor
    employers = list(session.scalars(select(EmployerAccount.employer_no).where(EmployerAccount.employer_no > cursor)
                                     .order_by(EmployerAccount.employer_no).limit(EMPLOYERS_PER_BATCH)))
    now = utcnow()
    if not employers:
        session.execute(update(InterestRun).where(InterestRun.year == run.year, InterestRun.status == "running")
                        .values(status="done", finished_at=now, updated_at=now))
        return False
    rates = Rates(Decimal(run.current_rate), Decimal(run.carried_rate))
    lines: dict[str, list[ledger.Line]] = defaultdict(list)
    for employer_no, member_no, opening, movements in products(session, year, JournalLine.employer_no > cursor,
                                                                JournalLine.employer_no <= employers[-1]):
        interest = member_interest(opening, movements, year.days, rates, run.day_basis)
        if interest != ZERO:
            lines[employer_no].append(ledger.Line(member_no, interest=interest))
    members, total = 0, ZERO
    for employer_no in employers:
        if not lines[employer_no]:
            continue
        entry, booked_now = ledger.book(
            session, employer_no=employer_no, detail_type=INTEREST_TYPE, summary=f"{year.label}结息",
            booking_date=year.end, source=f"interest:{year.year}:{employer_no}", lines=lines[employer_no])
        if booked_now:
            members, total = members + entry.headcount, total + entry.interest
            emit(session, "payment.interest_settled", {
                "employer_no": employer_no, "interest_year": year.year, "amount": f"{entry.interest:,.2f}",
                "headcount": entry.headcount, "serial_no": entry.serial_no, "booked_on": year.end.isoformat()},
                subject=f"interest/{year.year}/{employer_no}")
    moved = cast(CursorResult[Any], session.execute(
        update(InterestRun).where(InterestRun.year == run.year, InterestRun.cursor == cursor,
                                  InterestRun.status == "running")
        .values(cursor=employers[-1], employers_done=InterestRun.employers_done + len(employers),
                members_done=InterestRun.members_done + members,
                interest_total=InterestRun.interest_total + total, updated_at=now))).rowcount
    if moved != 1:  # another worker settled this batch meanwhile: its commit counts, this one must not
        raise Conflict
    return True


class Conflict(Exception):
    """The run's cursor moved under this batch (a second worker on the same year)."""


def settle(session: Session, year: int, rates: Rates, day_basis: int, actor: str, today: date,
           max_batches: int | None = None) -> InterestRun:
    """Run the year to its end (or ``max_batches`` batches: the tests' interrupted run), one commit per
    batch. Rerun after it finished, it books nothing and answers the finished run."""
    settled = check_year(year, today)
    run = start(session, settled, rates, day_basis, actor)
    session.commit()
    done = 0
    while run.status == "running" and (max_batches is None or done < max_batches):
        try:
            more = run_batch(session, run)
            session.commit()
        except Conflict:
            session.rollback()
            more = True
        done += 1
        run = session.get_one(InterestRun, year, populate_existing=True)
        if not more:
            break
    return run


def fail(session: Session, year: int, reason: str) -> None:
    """Record why a run stopped (the console shows it; starting it again resumes)."""
    session.rollback()
    session.execute(update(InterestRun).where(InterestRun.year == year, InterestRun.status == "running")
                    .values(status="failed", error=reason[:200], updated_at=utcnow()))
    session.commit()


def view(run: InterestRun | None, year: int) -> dict[str, Any]:
    settled = Year(year)
    base: dict[str, Any] = {"year": year, "label": settled.label, "start": settled.start, "end": settled.end}
    if run is None:
        return {**base, "status": "none", "status_name": "未结息"}
    names = {"running": "结息中", "done": "已完成", "failed": "已中断"}
    return {**base, "status": run.status, "status_name": names.get(run.status, run.status),
            "current_rate": run.current_rate, "carried_rate": run.carried_rate, "day_basis": run.day_basis,
            "employers_total": run.employers_total, "employers_done": run.employers_done,
            "members_done": run.members_done, "interest_total": run.interest_total, "error": run.error,
            "started_by": run.started_by, "started_at": run.started_at, "updated_at": run.updated_at,
            "finished_at": run.finished_at}
