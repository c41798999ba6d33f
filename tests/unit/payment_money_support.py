"""Helpers of the money-in tests: a bank's token, posting a receipt, the invariant, a bill by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from hall_common import db

from .conftest import EMPLOYER_NO, auth, token_for


def bank_headers(name: str = "icbc-taiyuan") -> dict[str, str]:
    return auth(token_for("service", None, perms=("receipt_post",), login_name=name))


def post_receipt(app: Flask, reference: str, amount: str, employer_no: str = EMPLOYER_NO,
                 received_on: str = "2026-05-15", headers: dict[str, str] | None = None, **more: Any) -> Any:
    body = {"bank_reference": reference, "employer_no": employer_no, "amount": amount, "received_on": received_on,
            **more}
    return app.test_client().post("/receipts", json=body, headers=headers or bank_headers())


def figures(app: Flask, employer_no: str = EMPLOYER_NO) -> dict[str, Decimal]:
    """The employer's balance, its members' sum, its journal's sum, its unallocated amount and the sum of
    its unallocated movements: the invariant says the first three and the last two agree."""
    from services.payment.models import EmployerAccount, JournalLine, MemberAccount, UnallocatedMovement

    with app.app_context():
        session = db.session()
        account = session.get_one(EmployerAccount, employer_no)
        return {
            "balance": account.balance,
            "members": session.scalar(select(func.sum(MemberAccount.balance))
                                      .where(MemberAccount.employer_no == employer_no)) or Decimal("0.00"),
            "journal": session.scalar(select(func.sum(JournalLine.amount + JournalLine.interest))
                                      .where(JournalLine.employer_no == employer_no)) or Decimal("0.00"),
            "unallocated": account.unallocated,
            "movements": session.scalar(select(func.sum(UnallocatedMovement.amount))
                                        .where(UnallocatedMovement.employer_no == employer_no)) or Decimal("0.00"),
        }


def assert_invariant(app: Flask, employer_no: str = EMPLOYER_NO) -> dict[str, Decimal]:
    found = figures(app, employer_no)
    assert found["balance"] == found["members"] == found["journal"], found
    assert found["unallocated"] == found["movements"], found
    return found


def make_bill(app: Flask, month: date, lines: list[tuple[str, str]], employer_no: str = EMPLOYER_NO) -> int:
    from services.payment import bills

    with app.app_context():
        bill, _ = bills.make_bill(db.session(), employer_no, month, [(m, Decimal(a)) for m, a in lines])
        db.session().commit()
        assert bill is not None
        return bill.id
