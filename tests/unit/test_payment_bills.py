"""汇缴 bills: once per employer and month whatever the retries, paid from the unallocated amount when it
covers them, made by the hourly beat job."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from deploy.demo_data import SECOND_EMPLOYER_NO
from hall_common import db
from hall_common.tasks import beat_schedule

from ..threads import at_once
from .conftest import EMPLOYER_NO, AnyDb, make_app
from .payment_money_support import assert_invariant, post_receipt

M1, M2 = f"{EMPLOYER_NO}0001", f"{EMPLOYER_NO}0002"
MAY = date(2026, 5, 1)


def _bills(app):  # type: ignore[no-untyped-def]
    from services.payment.models import BillLine, RemittanceBill

    with app.app_context():
        session = db.session()
        return ([(b.employer_no, b.month, b.amount, b.headcount, b.status)
                 for b in session.scalars(select(RemittanceBill).order_by(RemittanceBill.employer_no))],
                session.scalar(select(func.count()).select_from(BillLine)))


def fetch(employer_no: str, month: date) -> list[tuple[str, Decimal]]:
    """The member service's answer, as the job would get it: two members here, one there."""
    if employer_no == EMPLOYER_NO:
        return [(M1, Decimal("1200.00")), (M2, Decimal("800.40")), (f"{EMPLOYER_NO}0003", Decimal("0.00"))]
    return [(f"{SECOND_EMPLOYER_NO}0001", Decimal("600.00"))]


def test_the_job_bills_every_employer_once_a_month_and_a_rerun_makes_nothing() -> None:
    from services.payment.bills import make_month

    app = make_app("payment")
    with app.app_context():
        assert make_month(MAY, date(2026, 5, 1), fetch) == {"employers": 2, "made": 2, "failed": 0}
        assert make_month(date(2026, 5, 31), date(2026, 5, 2), fetch) == {"employers": 2, "made": 0, "failed": 0}
    bills, lines = _bills(app)
    assert bills == [(EMPLOYER_NO, MAY, Decimal("2000.40"), 2, "unpaid"),
                     (SECOND_EMPLOYER_NO, MAY, Decimal("600.00"), 1, "unpaid")]
    assert lines == 3  # a member owing nothing is no line


def test_one_employer_whose_members_cannot_be_read_leaves_the_others_billed() -> None:
    from hall_common.errors import BusinessError
    from services.payment.bills import make_month

    def flaky(employer_no: str, month: date) -> list[tuple[str, Decimal]]:
        if employer_no == EMPLOYER_NO:
            raise BusinessError("无法读取缴存人月缴存额：服务暂不可用", 503)
        return fetch(employer_no, month)

    app = make_app("payment")
    with app.app_context():
        assert make_month(MAY, MAY, flaky) == {"employers": 2, "made": 1, "failed": 1}
        assert make_month(MAY, MAY, fetch) == {"employers": 2, "made": 1, "failed": 0}  # the next run catches up
    assert len(_bills(app)[0]) == 2


def test_ten_runs_at_once_make_one_bill(any_db: AnyDb) -> None:
    from services.payment.bills import make_month

    app = any_db.app("payment")
    answers = at_once([lambda: make_month(MAY, MAY, fetch)] * 10, app)
    assert sum(a["made"] for a in answers) == 2, answers
    assert all(a["failed"] == 0 for a in answers)
    bills, lines = _bills(app)
    assert len(bills) == 2 and lines == 3


def test_a_bill_made_when_the_unallocated_amount_covers_it_is_paid_at_once() -> None:
    from services.payment.bills import make_month
    from services.payment.models import JournalEntry

    app = make_app("payment")
    assert post_receipt(app, "PRE-1", "2500.00", received_on="2026-04-28").status_code == 201
    with app.app_context():
        make_month(MAY, date(2026, 5, 1), fetch)
        entry = db.session().scalar(select(JournalEntry).where(JournalEntry.detail_type == "01"))
        assert entry is not None
        assert (entry.summary, entry.amount, entry.booking_date) == ("2026年05月汇缴", Decimal("2000.40"), MAY)
    bills, _ = _bills(app)
    assert [b[4] for b in bills] == ["paid", "unpaid"]  # the second employer has no money waiting
    assert assert_invariant(app)["unallocated"] == Decimal("499.60")


def test_beat_runs_the_bills_job_hourly_on_the_payment_queue() -> None:
    schedule = beat_schedule(["payment", "member"], 1.0)
    assert schedule["bills-payment"]["task"] == "payment.make_bills"
    assert schedule["bills-payment"]["options"]["queue"] == "payment"
    assert "bills-payment" not in beat_schedule(["member"], 1.0)
