"""单位信息查询 (ch. 7) through the real stack: an entry booked by the payment service's ledger is found
in 7.3 with its 明细, whose member names the payment service reads from the running member service
over HTTP with the operator's own token (never copied into payment); the 明细 printed as a PDF naming
the employer; a center user's print naming the employer from the employer service; 7.2 balancing with
7.3; 7.1 answered by the employer service."""

from __future__ import annotations

import io
import subprocess
import sys
from decimal import Decimal

from pypdf import PdfReader

from deploy import demo_data as demo
from deploy.stack import ROOT, Stack

from .helpers import EMPLOYER, center_api, employer_api

MEMBERS = demo.members()[:2]
BOOK = """
from datetime import date
from decimal import Decimal
from hall_common import db
from services.payment import create_app
from services.payment.ledger import Line, book
app = create_app()
with app.app_context():
    entry, _ = book(db.session(), employer_no="{employer}", detail_type="02", summary="补缴 2025年05月",
                    booking_date=date(2025, 8, 20), source="it:queries",
                    lines=[Line("{a}", Decimal("123.45")), Line("{b}", Decimal("10.00"))])
    db.session().commit()
    print(entry.serial_no)
"""


def _book(stack: Stack) -> str:
    code = BOOK.format(employer=EMPLOYER, a=MEMBERS[0]["member_no"], b=MEMBERS[1]["member_no"])
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=stack.env(), check=True, capture_output=True,
                          text=True)
    return done.stdout.strip().splitlines()[-1]


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_an_entry_found_in_the_journal_with_its_members_named_printed_and_balanced(stack: Stack) -> None:
    serial = _book(stack)
    employer = employer_api(stack)
    base = f"/employers/{EMPLOYER}/queries"
    journal = employer.get("payment", f"{base}/journal", detail_type="02", start_date="2025-08-20",
                           end_date="2025-08-20")
    assert [(e["serial_no"], e["summary"], e["amount"], e["headcount"]) for e in journal["items"]] == [
        (serial, "补缴 2025年05月", "133.45", 2)]
    detail = employer.get("payment", f"{base}/journal-lines", serial_no=serial)
    assert [(r["member_no"], r["name"], r["amount"]) for r in detail["items"]] == [
        (MEMBERS[0]["member_no"], MEMBERS[0]["name"], "123.45"), (MEMBERS[1]["member_no"], MEMBERS[1]["name"], "10.00")]
    printed = employer.call("GET", "payment", f"{base}/journal-lines/print", params={"serial_no": serial})
    assert printed.status_code == 200, printed.text
    text = _pdf_text(printed.content)
    assert f"单位：{demo.EMPLOYERS[0]['name']}（{EMPLOYER}）" in text and MEMBERS[1]["name"] in text

    # 7.2 over that day moves exactly what 7.3 lists for it.
    day = {"start_date": "2025-08-20", "end_date": "2025-08-20"}
    period = employer.get("payment", f"{base}/account/period", **day)
    listed = employer.get("payment", f"{base}/journal", **day)["items"]
    moved = sum(Decimal(e["amount"]) + Decimal(e["interest"]) for e in listed)
    assert Decimal(period["closing"]) - Decimal(period["opening"]) == moved
    assert Decimal(period["increase"]) >= Decimal("133.45")

    center = center_api(stack)
    statement = center.call("GET", "payment", f"{base}/account/print", params=day)
    assert statement.status_code == 200, statement.text
    assert f"单位：{demo.EMPLOYERS[0]['name']}（{EMPLOYER}）" in _pdf_text(statement.content)

    changes = employer.get("employer", f"{base}/employer-changes")
    assert changes["title"] == "单位客户信息变更查询" and isinstance(changes["items"], list)
