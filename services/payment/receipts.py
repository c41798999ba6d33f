"""到账: money a bank or a downstream system posts for an employer (``POST /receipts``).

Once per bank reference: the receipt row's unique reference decides (INSERT .. ON CONFLICT DO NOTHING),
so a retried post, or ten at once, store one receipt and move its money once. The same reference posted
again answers the stored receipt; with another employer or amount it is refused (409): the bank means
another payment, or made a mistake, and neither may pass silently.

The money goes whole to the employer's unallocated amount (source "receipt:<id>"), then pays the
employer's unpaid bills oldest first by the rule of ``bills.pay_due``, in the same transaction, booked
on the day it is registered (the bank's ``received_on`` is kept on the receipt).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hall_common import db
from hall_common.db import utcnow
from hall_common.errors import BusinessError
from hall_common.outbox import emit

from .bills import pay_due
from .ledger import add_unallocated
from .models import EmployerAccount, Receipt, RemittanceBill

UNKNOWN_EMPLOYER = "单位账号不存在"
MAX_FUTURE_DAYS = 1  # a bank a time zone ahead may date a receipt tomorrow; later dates are mistakes


def receive(poster: str, body: dict[str, Any], today: date) -> tuple[Receipt, bool, list[RemittanceBill]]:
    """Store and allocate a receipt once; (receipt, stored now, bills it paid). Commits."""
    session = db.session()
    if (body["received_on"] - today).days > MAX_FUTURE_DAYS:
        raise BusinessError("到账日期不能晚于今天", 422, errors={"received_on": ["到账日期不能晚于今天"]})
    if session.get(EmployerAccount, body["employer_no"]) is None:
        raise BusinessError(UNKNOWN_EMPLOYER, 422, errors={"employer_no": [UNKNOWN_EMPLOYER]})
    receipt, paid = store(session, poster, body, today)
    if receipt is None:
        session.rollback()
        return _same_again(session, body), False, []
    session.commit()
    return receipt, True, paid


def store(session: Session, poster: str, body: dict[str, Any],
          on: date) -> tuple[Receipt | None, list[RemittanceBill]]:
    """Insert the receipt unless its reference exists (None then), move its money to the unallocated
    amount and pay what it now covers, booked ``on`` (the day it is registered, not the bank's date: a
    late post never changes a past period's figures, which prints of it may state); the caller commits
    (the demo history books many in one go)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, Receipt.__table__)
    receipt_id = session.execute(insert(table).values(
        bank_reference=body["bank_reference"], employer_no=body["employer_no"], amount=body["amount"],
        received_on=body["received_on"], memo=body.get("memo", ""), poster=poster[:50], created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["bank_reference"]).returning(table.c.id)).scalar_one_or_none()
    if receipt_id is None:
        return None, []
    receipt = session.get_one(Receipt, receipt_id)
    add_unallocated(session, employer_no=receipt.employer_no, amount=receipt.amount, on=on,
                    summary=f"银行到账 {receipt.bank_reference}"[:100], source=f"receipt:{receipt.id}")
    emit(session, "payment.receipt_booked", {
        "employer_no": receipt.employer_no, "bank_reference": receipt.bank_reference,
        "amount": f"{receipt.amount:,.2f}", "received_on": receipt.received_on.isoformat(),
        "booked_on": on.isoformat()}, subject=f"receipt/{receipt.id}")
    return receipt, pay_due(session, receipt.employer_no, on)


def _same_again(session: Session, body: dict[str, Any]) -> Receipt:
    stored = session.scalar(select(Receipt).where(Receipt.bank_reference == body["bank_reference"]))
    assert stored is not None  # the conflicting row was committed before this insert saw it
    if stored.employer_no != body["employer_no"] or stored.amount != Decimal(body["amount"]):
        raise BusinessError(
            f"银行流水号{stored.bank_reference}已登记为单位{stored.employer_no}到账{stored.amount:,.2f}元，"
            "与本次不一致，未登记", 409)
    return stored


def unallocated(employer_no: str) -> Decimal:
    value = db.session().scalar(select(EmployerAccount.unallocated).where(EmployerAccount.employer_no == employer_no))
    return value if value is not None else Decimal("0.00")
