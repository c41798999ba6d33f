"""Interest settlement (结息): DOMAIN.md's example and hand-computed cases to the fen, once only."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hall_common import db
from hall_common.errors import BusinessError
from services.payment import interest
from services.payment.models import EmployerAccount, MemberAccount

from .interest_support import assert_invariant, deposit, interest_entries, interest_of, payment_app, reference, settle

E1, E2 = "100100001", "200200002"


@pytest.fixture
def app_ctx():  # type: ignore[no-untyped-def]
    app = payment_app()
    with app.app_context():
        yield app


def test_domain_example_ten_thousand_all_year_earns_152_08(app_ctx: object) -> None:
    deposit(E1, "M1", "10000.00", date(2025, 6, 30))
    run = settle()
    assert run.status == "done"
    assert interest_of("M1") == Decimal("152.08")
    entry, = interest_entries()
    assert (entry.detail_type, entry.booking_date, entry.amount, entry.interest, entry.headcount) == (
        "09", date(2026, 6, 30), Decimal("0.00"), Decimal("152.08"), 1)
    assert entry.summary == "2025-2026年度结息"
    assert db.session().get_one(MemberAccount, "M1").balance == Decimal("10152.08")
    assert_invariant()


def test_hand_computed_cases_to_the_fen(app_ctx: object) -> None:
    # mid-year deposit: 10,000 x 365 + 5,000 x 181 (1 Jan .. 30 Jun) = 4,555,000 x 0.015 / 360 = 189.7916
    deposit(E1, "MID", "10000.00", date(2025, 3, 1))
    deposit(E1, "MID", "5000.00", date(2026, 1, 1))
    # withdrawal: 10,000 x 365 - 4,000 x 91 (1 Apr .. 30 Jun) = 3,286,000 -> 136.9166
    deposit(E1, "OUT", "10000.00", date(2024, 12, 1))
    deposit(E1, "OUT", "-4000.00", date(2026, 4, 1))
    # opened mid-year: 3,000 from 15 Oct (17+30+31+31+28+31+30+31+30 = 259 days) = 777,000 -> 32.375 half up
    deposit(E2, "NEW", "3000.00", date(2025, 10, 15))
    # a posting on the settlement day counts that one day: 36,000 x 1 -> 1.50
    deposit(E2, "LAST", "36000.00", date(2026, 6, 30))
    # booked after the year: not counted at all
    deposit(E2, "LATE", "50000.00", date(2026, 7, 1))
    run = settle()
    assert interest_of("MID") == Decimal("189.79")
    assert interest_of("OUT") == Decimal("136.92")
    assert interest_of("NEW") == Decimal("32.38")
    assert interest_of("LAST") == Decimal("1.50")
    assert interest_of("LATE") == Decimal("0.00")
    assert (run.employers_done, run.members_done, run.interest_total) == (2, 4, Decimal("360.59"))
    assert [(e.employer_no, e.headcount, e.interest) for e in interest_entries()] == [
        (E1, 2, Decimal("326.71")), (E2, 2, Decimal("33.88"))]
    assert_invariant()


def test_leap_year_counts_366_days_and_rounds_half_up_once(app_ctx: object) -> None:
    # 1 Jul 2023 .. 30 Jun 2024 holds 29 Feb 2024: 100 x 366 x 0.015 / 360 = 1.525 -> 1.53 (half up, not even)
    deposit(E1, "LEAP", "100.00", date(2023, 1, 1))
    # three deposits whose own products round down but whose sum does not: rounded once, at the end
    for day in (date(2023, 9, 1), date(2023, 12, 1), date(2024, 3, 1)):
        deposit(E1, "ONCE", "10.00", day)
    settle(2024)
    assert interest_of("LEAP", 2024) == Decimal("1.53")
    movements = [(date(2023, 9, 1), Decimal(10)), (date(2023, 12, 1), Decimal(10)), (date(2024, 3, 1), Decimal(10))]
    # 10 x (304 + 213 + 122) = 6,390 x 0.015 / 360 = 0.26625 -> 0.27 (per deposit: 0.13 + 0.09 + 0.05 = 0.27
    # here too, so the reference decides): day by day equals the formula
    assert interest_of("ONCE", 2024) == reference(movements, 2024, interest.Rates(Decimal("0.015"), Decimal("0.015")))
    assert interest_of("ONCE", 2024) == Decimal("0.27")


def test_last_year_interest_earns_from_1_july_and_this_year_interest_is_not_counted(app_ctx: object) -> None:
    deposit(E1, "M1", "10000.00", date(2024, 6, 30))
    settle(2025)
    assert interest_of("M1", 2025) == Decimal("152.08")
    settle(2026)
    # 10,152.08 x 365 x 0.015 / 360 = 3,705,509.2 x 0.015 / 360 = 154.3962
    assert interest_of("M1", 2026) == Decimal("154.40")
    assert db.session().get_one(MemberAccount, "M1").balance == Decimal("10306.48")
    assert_invariant()


def test_carried_and_current_rates_and_the_day_basis_come_from_the_run(app_ctx: object) -> None:
    deposit(E1, "M1", "10000.00", date(2025, 1, 1))
    deposit(E1, "M1", "5000.00", date(2026, 1, 1))
    # (10,000 x 365 x 1.5% + 5,000 x 181 x 1.0%) / 360 = (54,750 + 9,050) / 360 = 177.2222
    run = settle(rates=interest.Rates(current=Decimal("0.01"), carried=Decimal("0.015")))
    assert interest_of("M1") == Decimal("177.22")
    assert (run.current_rate, run.carried_rate, run.day_basis) == ("0.01", "0.015", 360)


def test_day_basis_365(app_ctx: object) -> None:
    deposit(E1, "M1", "10000.00", date(2025, 6, 30))
    settle(day_basis=365)
    assert interest_of("M1") == Decimal("150.00")


def test_a_rerun_books_nothing_twice(app_ctx: object) -> None:
    deposit(E1, "M1", "10000.00", date(2025, 6, 30))
    deposit(E2, "M2", "20000.00", date(2025, 6, 30))
    first = settle()
    again = settle()
    assert len(interest_entries()) == 2
    assert again.status == "done" and again.interest_total == first.interest_total == Decimal("456.25")
    assert db.session().get_one(EmployerAccount, E2).balance == Decimal("20304.17")
    assert_invariant()


def test_an_unfinished_year_is_refused(app_ctx: object) -> None:
    with pytest.raises(BusinessError) as refused:
        interest.settle(db.session(), 2026, interest.Rates(Decimal("0.015"), Decimal("0.015")), 360, "tester",
                        date(2026, 6, 29))
    assert "2025-2026年度尚未结束" in refused.value.message
    assert interest_entries() == []
