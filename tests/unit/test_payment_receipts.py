"""到账 (POST /receipts): a bank's token, once per bank reference, allocation to the oldest unpaid bill."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from deploy.demo_data import SECOND_EMPLOYER_NO
from hall_common import db
from services.payment.bills import hall_today

from ..threads import at_once
from .conftest import EMPLOYER_NO, AnyDb, auth, make_app, token_for
from .payment_money_support import assert_invariant, figures, make_bill, post_receipt

M1, M2 = f"{EMPLOYER_NO}0001", f"{EMPLOYER_NO}0002"


def emitted(app, type_: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """The data of the outbox's events of a type (for the downstream stream), each checked against its schema."""
    from hall_common import event_schemas
    from hall_common.runtime import get_runtime

    with app.app_context():
        model = get_runtime().plumbing.outbox
        events = [json.loads(p) for p in db.session().scalars(select(model.payload).where(model.type == type_)
                                                              .order_by(model.id))]
    for event in events:
        assert event_schemas.problems(event) == [], event
    return [event["data"] for event in events]


def _count(app, model, **where):  # type: ignore[no-untyped-def]
    with app.app_context():
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return db.session().scalar(query)


def test_a_receipt_without_a_bill_becomes_the_unallocated_amount_and_a_retry_stores_nothing() -> None:
    from services.payment.models import Receipt, UnallocatedMovement

    app = make_app("payment")
    before = figures(app)
    first = post_receipt(app, "ICBC20260515001", "20000.00", memo="预缴款")
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["message"] == "到账已登记，计入未分配金额"
    assert first.get_json()["unallocated"] == "20000.00"
    again = post_receipt(app, "ICBC20260515001", "20000.00")
    assert again.status_code == 200
    assert again.get_json()["message"] == "该笔到账已登记，未重复登记"
    assert again.get_json()["receipt"]["id"] == first.get_json()["receipt"]["id"]
    assert _count(app, Receipt) == 1 and _count(app, UnallocatedMovement) == 1
    # Booked the day it is registered: a late post never changes a past period; the bank's date is kept.
    assert first.get_json()["receipt"]["received_on"] == "2026-05-15"
    assert _count(app, UnallocatedMovement, booked_on=hall_today()) == 1
    after = assert_invariant(app)
    assert after["unallocated"] - before["unallocated"] == Decimal("20000.00")
    assert after["balance"] == before["balance"]  # no bill: no member's money moved


def test_the_same_reference_with_another_amount_or_employer_is_refused() -> None:
    app = make_app("payment")
    assert post_receipt(app, "REF-1", "100.00").status_code == 201
    other_amount = post_receipt(app, "REF-1", "100.01")
    assert other_amount.status_code == 409
    assert other_amount.get_json()["message"] == \
        "银行流水号REF-1已登记为单位100100001到账100.00元，与本次不一致，未登记"
    assert post_receipt(app, "REF-1", "100.00", employer_no=SECOND_EMPLOYER_NO).status_code == 409
    assert figures(app)["unallocated"] == Decimal("100.00")


def test_bad_input_unknown_employer_and_callers_without_the_right_are_refused() -> None:
    app = make_app("payment")
    unknown = post_receipt(app, "REF-2", "10.00", employer_no="999999999")
    assert unknown.status_code == 422 and unknown.get_json()["message"] == "单位账号不存在"
    for amount, message in (("0", "到账金额应大于0"), ("-5.00", "到账金额应大于0"), ("1.005", "到账金额最多两位小数")):
        answer = post_receipt(app, "REF-3", amount)
        assert answer.status_code == 422 and answer.get_json()["errors"]["json"]["amount"] == [message]
    assert post_receipt(app, "REF\x00", "1.00").status_code == 422
    control = post_receipt(app, "REF-4", "1.00", memo="a\x07b")
    assert control.get_json()["errors"]["json"]["memo"] == ["不能包含控制字符"]
    future = post_receipt(app, "REF-5", "1.00", received_on="2999-01-01")
    assert future.status_code == 422 and future.get_json()["message"] == "到账日期不能晚于今天"
    assert post_receipt(app, "REF-6", "1.00", received_on="2026-02-30").status_code == 422
    employer = auth(token_for())
    pusher = auth(token_for("service", None, perms=("push",), login_name="core"))
    for headers in (employer, pusher, auth(token_for("center", None))):
        assert post_receipt(app, "REF-7", "1.00", headers=headers).status_code == 403
    assert app.test_client().post("/receipts", json={}).status_code == 401
    assert figures(app)["unallocated"] == Decimal("0.00")


def test_a_receipt_pays_the_oldest_bill_it_covers_with_the_unallocated_amount() -> None:
    from services.payment.models import JournalEntry, JournalLine, RemittanceBill

    app = make_app("payment")
    opening = figures(app)["balance"]
    april = make_bill(app, date(2026, 4, 1), [(M1, "1000.00"), (M2, "500.50")])
    may = make_bill(app, date(2026, 5, 20), [(M1, "1000.00"), (M2, "600.00")])
    short = post_receipt(app, "B-1", "1000.00", received_on="2026-05-10")  # 1,000.00 < 1,500.50: waits
    assert short.get_json()["paid_months"] == []
    paid = post_receipt(app, "B-2", "700.00", received_on="2026-05-12")  # 1,700.00 pays April only
    assert paid.status_code == 201
    assert paid.get_json()["paid_months"] == ["2026-04"]
    assert paid.get_json()["message"] == "到账已登记，已缴清2026年04月汇缴"
    assert paid.get_json()["unallocated"] == "199.50"
    with app.app_context():
        session = db.session()
        bill = session.get_one(RemittanceBill, april)
        assert bill.status == "paid" and bill.entry_id is not None
        entry = session.get_one(JournalEntry, bill.entry_id)
        assert (entry.detail_type, entry.summary, entry.amount, entry.headcount, entry.booking_date) == (
            "01", "2026年04月汇缴", Decimal("1500.50"), 2, hall_today())  # the day it was registered
        lines = session.execute(select(JournalLine.member_no, JournalLine.amount).where(
            JournalLine.entry_id == entry.id).order_by(JournalLine.member_no)).all()
        assert [tuple(line) for line in lines] == [(M1, Decimal("1000.00")), (M2, Decimal("500.50"))]
        assert session.get_one(RemittanceBill, may).status == "unpaid"
    found = assert_invariant(app)
    assert found["balance"] - opening == Decimal("1500.50")
    summary = app.test_client().get(f"/employers/{EMPLOYER_NO}/account", headers=auth(token_for())).get_json()
    assert summary["last_remittance_month"] == "2026-04" and summary["unallocated"] == "199.50"
    # Downstream systems learn both receipts and the bill they paid, with the journal entry's number.
    today = hall_today().isoformat()
    assert emitted(app, "payment.receipt_booked") == [
        {"employer_no": EMPLOYER_NO, "bank_reference": "B-1", "amount": "1,000.00", "received_on": "2026-05-10",
         "booked_on": today},
        {"employer_no": EMPLOYER_NO, "bank_reference": "B-2", "amount": "700.00", "received_on": "2026-05-12",
         "booked_on": today}]
    assert emitted(app, "payment.remittance_paid") == [
        {"employer_no": EMPLOYER_NO, "month": "2026-04", "amount": "1,500.50", "headcount": 2,
         "serial_no": entry.serial_no, "booked_on": today}]


def test_ten_banks_posting_one_reference_at_once_store_one_receipt_and_book_once(any_db: AnyDb) -> None:
    from services.payment.models import JournalEntry, Receipt, UnallocatedMovement

    app = any_db.app("payment")
    make_bill(app, date(2026, 5, 1), [(M1, "300.00"), (M2, "200.00")])
    answers = at_once([lambda: post_receipt(app, "RACE-1", "800.00")] * 10)
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 9 + [201], [a.get_json() for a in answers]
    assert _count(app, Receipt) == 1
    assert _count(app, UnallocatedMovement) == 2  # the receipt in, the bill's payment out
    assert _count(app, JournalEntry, detail_type="01") == 1
    found = assert_invariant(app)
    assert found["unallocated"] == Decimal("300.00")
    assert len(emitted(app, "payment.receipt_booked")) == len(emitted(app, "payment.remittance_paid")) == 1


def test_ten_payments_out_of_the_unallocated_amount_at_once_never_overspend_it(any_db: AnyDb) -> None:
    from hall_common.errors import BusinessError
    from services.payment.ledger import take_unallocated

    app = any_db.app("payment")
    assert post_receipt(app, "POOL", "1000.00").status_code == 201

    def take(n: int) -> bool:
        session = db.session()
        try:
            taken = take_unallocated(session, employer_no=EMPLOYER_NO, amount=Decimal("300.00"), on=date(2026, 5, 20),
                                     summary="测试", source=f"test:{n}")
            session.commit()
            return taken
        except BusinessError as exc:
            session.rollback()
            return exc.message  # type: ignore[return-value]

    answers = at_once([lambda n=n: take(n) for n in range(10)], app)
    assert answers.count(True) == 3, answers
    refused = {a for a in answers if a is not True}
    assert refused == {"未分配金额不足：需300.00元，现有100.00元，差额200.00元"}
    found = assert_invariant(app)
    assert found["unallocated"] == Decimal("100.00")
