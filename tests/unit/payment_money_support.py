"""Helpers of the money-in tests: a bank's token, posting a receipt, the invariant, a bill by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import Flask

from hall_common import db

from .. import money
from .conftest import EMPLOYER_NO, auth, token_for


def bank_headers(name: str = "icbc-taiyuan") -> dict[str, str]:
    return auth(token_for("service", None, perms=("receipt_post",), login_name=name))


def post_receipt(app: Flask, reference: str, amount: str, employer_no: str = EMPLOYER_NO,
                 received_on: str = "2026-05-15", headers: dict[str, str] | None = None, **more: Any) -> Any:
    body = {"bank_reference": reference, "employer_no": employer_no, "amount": amount, "received_on": received_on,
            **more}
    return app.test_client().post("/receipts", json=body, headers=headers or bank_headers())


def figures(app: Flask, employer_no: str = EMPLOYER_NO) -> dict[str, Decimal]:
    with app.app_context():
        return money.figures(db.session(), employer_no)


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
