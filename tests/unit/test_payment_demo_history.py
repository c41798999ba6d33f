"""The demo's money: opening balances booked as 期初余额 (every seed), and make run's history of the demo
employer from July 2025 to last month (bills, receipts, allocations, 20,000.00 unallocated)."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from deploy import demo_data
from deploy import seed as demo_seed
from hall_common import db

from .conftest import EMPLOYER_NO, auth, make_app, token_for
from .payment_money_support import assert_invariant

TODAY = date(2026, 12, 3)


def monthly() -> list[tuple[str, str, Decimal]]:
    return [(m["member_no"], m["first_month"], m["employer_amount"] + m["personal_amount"])
            for m in demo_data.members() if m["status"] == "01"]


def test_every_opening_balance_is_one_journal_entry_and_seeding_again_books_nothing() -> None:
    from services.payment.models import JournalEntry

    app = make_app("payment")
    with app.app_context():
        demo_seed.seed_payment()  # the second run
        db.session().commit()
        entries = db.session().scalars(select(JournalEntry).order_by(JournalEntry.employer_no)).all()
    assert [(e.employer_no, e.detail_type, e.summary, e.booking_date, e.headcount) for e in entries] == [
        (EMPLOYER_NO, "99", "期初余额", date(2025, 6, 30), 280),
        (demo_data.SECOND_EMPLOYER_NO, "99", "期初余额", date(2025, 6, 30), 5)]
    found = assert_invariant(app)
    assert found["balance"] == sum(m["balance"] for m in demo_data.members())
    assert found["unallocated"] == Decimal("0.00")


def test_the_demo_year_bills_and_pays_every_month_and_leaves_money_for_supplementary_payments() -> None:
    from services.payment.demo_history import seed_history
    from services.payment.models import JournalEntry, Receipt, RemittanceBill

    app = make_app("payment")
    opening = assert_invariant(app)["balance"]
    owed = sum((amount for _, _, amount in monthly()), Decimal("0.00"))
    with app.app_context():
        started = time.monotonic()
        assert seed_history(db.session(), EMPLOYER_NO, monthly(), TODAY) == 17  # 2025-07 .. 2026-11
        db.session().commit()
        assert time.monotonic() - started < 20
        assert seed_history(db.session(), EMPLOYER_NO, monthly(), TODAY) == 0  # seeding again: nothing doubles
        db.session().commit()
        session = db.session()
        bills = session.scalars(select(RemittanceBill).order_by(RemittanceBill.month)).all()
        assert [(b.month, b.status, b.amount) for b in bills[:1]] == [(date(2025, 7, 1), "paid", owed)]
        assert len(bills) == 17 and {b.status for b in bills} == {"paid"}
        assert bills[-1].month == date(2026, 11, 1)
        assert session.scalar(select(func.count()).select_from(Receipt)) == 18
        remittances = session.scalars(select(JournalEntry).where(JournalEntry.detail_type == "01")
                                      .order_by(JournalEntry.booking_date)).all()
        assert [e.summary for e in remittances[:2]] == ["2025年07月汇缴", "2025年08月汇缴"]
        assert remittances[0].booking_date == date(2025, 7, 15) and remittances[0].headcount == len(monthly())
    found = assert_invariant(app)
    assert found["balance"] == opening + 17 * owed
    assert found["unallocated"] == Decimal("20000.00")
    account = app.test_client().get(f"/employers/{EMPLOYER_NO}/account", headers=auth(token_for())).get_json()
    assert account["last_remittance_month"] == "2026-11" and account["unallocated"] == "20000.00"


def test_make_run_seeds_the_history_up_to_last_month() -> None:
    from services.payment.bills import hall_today

    app = make_app("payment")
    with app.app_context():
        demo_seed.DEMO_ONLY["payment"]()
        db.session().commit()
    today = hall_today()
    last = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    account = app.test_client().get(f"/employers/{EMPLOYER_NO}/account", headers=auth(token_for())).get_json()
    assert account["last_remittance_month"] == f"{last:%Y-%m}"
    assert assert_invariant(app)["unallocated"] == Decimal("20000.00")
