"""补缴's tests: the payment app with the member service's real lookup behind it, money put into the
unallocated amount the ledger's way, the roster's API calls and the approval's outcome."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from deploy import demo_data
from hall_common import db
from hall_common.consumer import consume
from hall_common.events import make_event

from .conftest import EMPLOYER_NO, auth, make_app, outbox_events, token_for

TYPE = "supplementary_payment"
BASE = f"/employers/{EMPLOYER_NO}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MEMBERS = demo_data.members()
NORMAL = [m for m in MEMBERS if m["status"] == "01"]
SEALED = [m for m in MEMBERS if m["status"] == "02"]
CLOSED = [m for m in MEMBERS if m["status"] == "05"]
OTHERS = demo_data.members(demo_data.SECOND_EMPLOYER_NO)


def last_month() -> str:
    today = date.today()
    index = today.year * 12 + today.month - 2
    return f"{index // 12}{index % 12 + 1:02d}"


def months_back(count: int) -> list[str]:
    """``count`` distinct months, each on or after every demo member's first month (2015-2024)."""
    return [f"{2025 + i // 12}{i % 12 + 1:02d}" for i in range(count)]


def with_members(monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The member service's app, and the payment service's lookup answered by its real route (as the
    payment service's own token would be answered over HTTP)."""
    from services.payment import supplement_members

    member_app = make_app("member")
    token = auth(token_for("service", None, perms=("member_read",), login_name="payment"))

    def members(employer_no: str, member_nos: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        numbers = sorted(set(member_nos))
        for start in range(0, len(numbers), supplement_members.LOOKUP_MAX):
            answer = member_app.test_client().post(f"/employers/{employer_no}/members/lookup", headers=token,
                                                   json={"member_nos": numbers[start:start + 2000]})
            assert answer.status_code == 200, answer.get_json()
            found.update((m["member_no"], m) for m in answer.get_json()["items"])
        return found

    monkeypatch.setattr(supplement_members, "members", members)
    return member_app


def fund(app: Flask, amount: str, source: str = "receipt:test", employer_no: str = EMPLOYER_NO) -> None:
    """Money in to the unallocated amount, as a receipt no bill took would put it."""
    from services.payment import ledger

    with app.app_context():
        ledger.add_unallocated(db.session(), employer_no=employer_no, amount=Decimal(amount), on=date.today(),
                               summary="测试到账", source=source)
        db.session().commit()


def spend(app: Flask, amount: str, source: str) -> None:
    """Money out of the unallocated amount meanwhile (a bill paid from it)."""
    from services.payment import ledger

    with app.app_context():
        ledger.take_unallocated(db.session(), employer_no=EMPLOYER_NO, amount=Decimal(amount), on=date.today(),
                                summary="测试划出", source=source)
        db.session().commit()


def entry(member_no: str, month: str, amount: str, reason: str = "漏缴补缴") -> dict[str, str]:
    return {"member_no": member_no, "reason": reason, "month": month, "amount": amount}


def add(app: Flask, headers: dict[str, str], values: dict[str, str]) -> Any:
    return app.test_client().post(f"{BASE}/rosters/{TYPE}/rows", json={"values": values}, headers=headers)


def rows(app: Flask, headers: dict[str, str]) -> dict[str, Any]:
    answer = app.test_client().get(f"{BASE}/rosters/{TYPE}?per_page=200", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return dict(answer.get_json())


def commit(app: Flask, headers: dict[str, str]) -> Any:
    return app.test_client().post(f"{BASE}/rosters/{TYPE}/commit", json={"row_ids": []}, headers=headers)


def business_ids(app: Flask) -> list[str]:
    return [e["data"]["business_id"] for e in outbox_events(app)
            if e["type"] == "business.submitted" and e["data"]["business_type"] == TYPE]


def events(app: Flask, type_: str) -> list[dict[str, Any]]:
    return [e["data"] for e in outbox_events(app) if e["type"] == type_]


def decide(app: Flask, business_id: str, kind: str = "business.approved", event_id: str | None = None) -> str:
    event = make_event("workflow", kind, {
        "business_type": TYPE, "business_id": business_id, "owner": "payment", "employer_no": EMPLOYER_NO,
        "instance_id": 7, "approver": "中心审核员李明", "opinion": "同意" if kind == "business.approved" else "不同意"})
    if event_id:
        event["id"] = event_id
    with app.app_context():
        return str(consume(event))


def account(app: Flask, employer_no: str = EMPLOYER_NO) -> tuple[Decimal, Decimal]:
    """(balance, unallocated) of the employer."""
    from services.payment.models import EmployerAccount

    with app.app_context():
        found = db.session().get(EmployerAccount, employer_no, populate_existing=True)
        assert found is not None
        return found.balance, found.unallocated


def member_balances(app: Flask, member_nos: list[str]) -> dict[str, Decimal]:
    from services.payment.models import MemberAccount

    with app.app_context():
        return dict(db.session().execute(select(MemberAccount.member_no, MemberAccount.balance)
                                         .where(MemberAccount.member_no.in_(member_nos))).all())


def members_total(app: Flask, employer_no: str = EMPLOYER_NO) -> Decimal:
    from services.payment.models import MemberAccount

    with app.app_context():
        return Decimal(db.session().scalar(select(func.sum(MemberAccount.balance))
                                           .where(MemberAccount.employer_no == employer_no)) or 0)


def journal(app: Flask, detail_type: str = "02") -> list[tuple[Any, list[Any]]]:
    """The employer's entries of a type with their lines."""
    from services.payment.models import JournalEntry, JournalLine

    with app.app_context():
        session = db.session()
        entries = list(session.scalars(select(JournalEntry).where(JournalEntry.employer_no == EMPLOYER_NO,
                                                                 JournalEntry.detail_type == detail_type)))
        found = []
        for entry_ in entries:
            lines = list(session.scalars(select(JournalLine).where(JournalLine.entry_id == entry_.id)
                                         .order_by(JournalLine.id)))
            found.append((entry_, lines))
        return found
