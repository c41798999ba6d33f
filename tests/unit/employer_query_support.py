"""The payment service with a known journal for the ch. 7 query tests, and the member and employer
services it asks for names answered by their real apps (in this process, with the caller's token)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader

from deploy import demo_data
from hall_common import db
from hall_common.client import ServiceClient, ServiceError

from .conftest import EMPLOYER_NO, OTHER_EMPLOYER_NO, make_app

MEMBERS = [m["member_no"] for m in demo_data.members()[:3]]
NAMES = {m["member_no"]: m["name"] for m in demo_data.members()[:3]}
OTHER_MEMBER = "9999999999"
D = Decimal


def book(app: Flask, employer_no: str, detail_type: str, summary: str, day: date, source: str,
         lines: list[tuple[str, str, str]]) -> str:
    """One journal entry through the ledger (the only way money moves); its serial number."""
    from services.payment.ledger import Line
    from services.payment.ledger import book as ledger_book

    with app.app_context():
        entry, _ = ledger_book(db.session(), employer_no=employer_no, detail_type=detail_type, summary=summary,
                               booking_date=day, source=source,
                               lines=[Line(m, D(a), D(i)) for m, a, i in lines])
        serial = entry.serial_no
        db.session().commit()
    return serial


def unallocated(app: Flask, employer_no: str, amount: str, day: date, source: str) -> None:
    from services.payment.ledger import add_unallocated, take_unallocated

    with app.app_context():
        move = add_unallocated if D(amount) > 0 else take_unallocated
        move(db.session(), employer_no=employer_no, amount=abs(D(amount)), on=day, summary="到账", source=source)
        db.session().commit()


def journal_app() -> tuple[Flask, dict[str, str]]:
    """A payment service holding, for the demo employer: an opening balance on 2025-06-30, the July
    and August remittances, a supplementary payment in August, a correction taking money out in
    September, interest on 2026-06-30; and one entry of another employer. Its entries' serials by name."""
    app = make_app("payment", seed=False)
    a, b, c = MEMBERS
    serials = {
        "opening": book(app, EMPLOYER_NO, "99", "期初余额", date(2025, 6, 30), "t:opening",
                        [(a, "1000.00", "0"), (b, "2000.00", "0"), (c, "500.00", "0")]),
        "july": book(app, EMPLOYER_NO, "01", "2025年07月汇缴", date(2025, 7, 15), "t:july",
                     [(a, "300.00", "0"), (b, "400.50", "0"), (c, "100.25", "0")]),
        "august": book(app, EMPLOYER_NO, "01", "2025年08月汇缴", date(2025, 8, 15), "t:august",
                       [(a, "300.00", "0"), (b, "400.50", "0"), (c, "100.25", "0")]),
        "supplement": book(app, EMPLOYER_NO, "02", "补缴 2025年05月", date(2025, 8, 20), "t:supplement",
                           [(a, "123.45", "0")]),
        "correction": book(app, EMPLOYER_NO, "99", "错缴更正", date(2025, 9, 3), "t:correction",
                           [(b, "-50.10", "0")]),
        "interest": book(app, EMPLOYER_NO, "09", "2026年度结息", date(2026, 6, 30), "t:interest",
                         [(a, "0", "30.01"), (b, "0", "45.67"), (c, "0", "12.34")]),
        "other": book(app, OTHER_EMPLOYER_NO, "01", "2025年07月汇缴", date(2025, 7, 15), "t:other",
                      [(OTHER_MEMBER, "777.00", "0")]),
    }
    unallocated(app, EMPLOYER_NO, "20000.00", date(2025, 7, 20), "t:in")
    unallocated(app, EMPLOYER_NO, "-123.45", date(2025, 8, 20), "t:out")
    return app, serials


def other_services(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """The member and employer services the payment service asks, as their real apps (seeded with the
    demo data), called with the token the payment service was called with. Yields the paths asked."""
    apps = {"member": make_app("member"), "employer": make_app("employer")}
    asked: dict[str, list[str]] = {"member": [], "employer": []}

    def answer(self: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
               json: Any = None) -> Any:
        asked[self.service].append(path)
        response = apps[self.service].test_client().open(path, method=method, json=json, query_string=params,
                                                         headers=self.headers)
        if response.status_code >= 400:
            body = response.get_json() or {}
            raise ServiceError(self.service, response.status_code, body.get("message", ""), body.get("errors"))
        return response.get_json()

    monkeypatch.setattr(ServiceClient, "request", answer)
    yield asked


def sheet_rows(data: bytes) -> list[tuple[Any, ...]]:
    return list(load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
