"""Interest runs: interrupted and resumed, several workers at once, and the ledger's invariant over random
bookings and settlements (each member's interest equal to a day-by-day reference)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from hall_common import db
from services.payment import interest, ledger
from services.payment.interest_models import InterestRun
from services.payment.models import EmployerAccount, JournalEntry, JournalLine, MemberAccount
from tests.threads import at_once

from .conftest import AnyDb
from .interest_support import (
    RATES,
    assert_invariant,
    deposit,
    interest_entries,
    interest_of,
    payment_app,
    reference,
    settle,
    settled_events,
)

EMPLOYERS = [f"3003000{i:02d}" for i in range(1, 6)]


@pytest.fixture
def app() -> Iterator[Flask]:
    made = payment_app()
    with made.app_context():
        yield made


def _five_employers() -> None:
    for n, employer_no in enumerate(EMPLOYERS):
        for m in range(3):
            deposit(employer_no, f"{employer_no}-{m}", f"{1000 * (n + 1) + m}.00", date(2025, 1, 1))


def _each_member_once() -> None:
    _each_member_once_besides()


def _each_member_once_besides(*others: str) -> None:
    counts = db.session().execute(select(JournalLine.member_no, func.count()).where(
        JournalLine.detail_type == "09", JournalLine.booking_date == date(2026, 6, 30))
        .group_by(JournalLine.member_no)).all()
    assert len(counts) == 15 + len(others) and {n for _, n in counts} == {1}
    for employer_no in EMPLOYERS:
        for m in range(3):
            expected = reference([(date(2025, 1, 1), Decimal(1000 * (EMPLOYERS.index(employer_no) + 1) + m))],
                                 2026, RATES)
            assert interest_of(f"{employer_no}-{m}") == expected


def test_a_run_stopped_after_some_batches_goes_on_where_it_stopped(app: Flask,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interest, "EMPLOYERS_PER_BATCH", 2)
    _five_employers()
    stopped = settle(max_batches=1)
    assert (stopped.status, stopped.cursor, stopped.employers_done, stopped.members_done) == (
        "running", EMPLOYERS[1], 2, 6)
    assert [e.employer_no for e in interest_entries()] == EMPLOYERS[:2]
    finished = settle()
    assert (finished.status, finished.employers_done, finished.members_done) == ("done", 5, 15)
    assert [e.employer_no for e in interest_entries()] == EMPLOYERS
    _each_member_once()
    assert finished.interest_total == sum((e.interest for e in interest_entries()), Decimal(0))
    assert_invariant()


def test_a_worker_killed_inside_a_batch_leaves_nothing_of_it_and_the_rerun_books_each_member_once(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interest, "EMPLOYERS_PER_BATCH", 2)
    _five_employers()
    real_book = ledger.book
    calls = []

    def dies_on_the_fourth(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 4:  # the second employer of the second batch
            raise SystemExit("worker killed")
        return real_book(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(interest.ledger, "book", dies_on_the_fourth)
    with pytest.raises(SystemExit):
        settle()
    db.session().rollback()
    run = db.session().get_one(InterestRun, 2026, populate_existing=True)
    assert (run.status, run.cursor, run.employers_done) == ("running", EMPLOYERS[1], 2)
    assert [e.employer_no for e in interest_entries()] == EMPLOYERS[:2]  # the third employer's booking rolled back
    monkeypatch.setattr(interest.ledger, "book", real_book)
    assert settle().status == "done"
    _each_member_once()
    assert_invariant()
    # The rolled-back batch's events went with it: downstream hears of each employer's interest once.
    assert [e["employer_no"] for e in settled_events()] == EMPLOYERS


def test_workers_settling_the_same_year_at_once_book_each_member_once(app: Flask,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interest, "EMPLOYERS_PER_BATCH", 2)
    _five_employers()
    results = at_once([lambda: settle().status for _ in range(4)], app)
    assert results == ["done"] * 4
    run = db.session().get_one(InterestRun, 2026, populate_existing=True)
    assert (run.employers_done, run.members_done) == (5, 15)
    _each_member_once()
    assert_invariant()
    entries = {e.employer_no: e for e in interest_entries()}
    assert settled_events() == [
        {"employer_no": n, "interest_year": 2026, "amount": f"{entries[n].interest:,.2f}", "headcount": 3,
         "serial_no": entries[n].serial_no, "booked_on": "2026-06-30"} for n in EMPLOYERS]


YEARS = (2024, 2025, 2026)
FIRST_DAY = date(2023, 1, 1)
LAST_DAY = date(2026, 6, 30)
bookings = st.lists(st.tuples(
    st.integers(0, 3),  # member (0, 1 of one employer; 2, 3 of another)
    st.integers(0, (LAST_DAY - FIRST_DAY).days),
    st.decimals(Decimal("-500.00"), Decimal("20000.00"), places=2).filter(lambda d: d != 0),
), min_size=1, max_size=12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(booked=bookings, settle_after=st.sets(st.sampled_from(YEARS)))
def test_balances_equal_members_equal_journal_and_interest_equals_the_reference(
        app: Flask, booked: list[tuple[int, int, Decimal]], settle_after: set[int]) -> None:
    session = db.session()
    for model in (JournalLine, JournalEntry, MemberAccount, EmployerAccount, InterestRun):
        session.execute(delete(model))
    session.commit()
    members = {i: (EMPLOYERS[i // 2], f"P{i}") for i in range(4)}
    movements: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    pending = sorted((FIRST_DAY + timedelta(days=day), i, amount) for i, day, amount in booked)
    for n, (day, i, amount) in enumerate(pending):
        employer_no, member_no = members[i]
        deposit(employer_no, member_no, str(amount), day, source=f"p:{n}")
        movements[member_no].append((day, amount))
    for year in sorted(settle_after):
        settle(year)
        for _employer, member_no in members.values():
            if not movements[member_no]:
                continue
            expected = reference(movements[member_no], year, RATES)
            assert interest_of(member_no, year) == expected, (member_no, year, movements[member_no])
            if expected:
                movements[member_no].append((date(year, 6, 30), expected))
        assert_invariant()


def test_on_sqlite_and_postgresql_four_workers_settle_each_member_once_to_the_fen(
        any_db: AnyDb, monkeypatch: pytest.MonkeyPatch) -> None:
    made = any_db.app("payment", payment_app)
    monkeypatch.setattr(interest, "EMPLOYERS_PER_BATCH", 2)
    with made.app_context():
        _five_employers()
        deposit(EMPLOYERS[0], "LEAP", "100.00", date(2023, 1, 1))
        deposit(EMPLOYERS[0], "MID", "3000.00", date(2025, 10, 15))
        deposit(EMPLOYERS[0], "MID", "-1000.00", date(2026, 4, 1))
        assert at_once([lambda: settle().status for _ in range(4)], made) == ["done"] * 4
        _each_member_once_besides("MID", "LEAP")
        # 3,000 x 259 - 1,000 x 91 = 686,000 x 0.015 / 360 = 28.5833
        assert interest_of("MID") == Decimal("28.58")
        assert_invariant()
        settle(2024)
        assert interest_of("LEAP", 2024) == Decimal("1.53")  # 366 days, 1.525 half up
