"""补缴 through the real stack (gunicorn services, Redis, the Celery event workers, SpiffWorkflow on the
shipped BPMN, the payment service's own service token asking the member service): a roster submitted,
refused while the unallocated amount falls short, approved by the center's 经办审核, and then the
journal shows one type-02 entry with a line per row, the unallocated amount fell by the total and the
employer is told."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from deploy import demo_data
from deploy.stack import Stack

from .helpers import EMPLOYER, Api, center_api, employer_api, messages, wait_for

TYPE = "supplementary_payment"
ROSTER = f"/employers/{EMPLOYER}/rosters/{TYPE}"
# Members far down the demo list, which no other integration test touches.
MEMBERS = [m for m in demo_data.members() if m["status"] == "01"][-3:-1]


def _fund(stack: Stack, amount: str) -> None:
    """Money in to the unallocated amount the ledger's way, on the stack's payment database (the bank's
    receipt intake is another part of the money issue)."""
    from services.payment import ledger

    engine = create_engine(stack.database_url("payment"))
    try:
        with Session(engine) as session:
            ledger.add_unallocated(session, employer_no=EMPLOYER, amount=Decimal(amount), on=date.today(),
                                   summary="测试到账", source="receipt:integration-supplement")
            session.commit()
    finally:
        engine.dispose()


def _journal(stack: Stack, business_id: str) -> tuple[Any, list[Any]] | None:
    from services.payment.models import JournalEntry, JournalLine

    engine = create_engine(stack.database_url("payment"))
    try:
        with Session(engine) as session:
            entry = session.scalar(select(JournalEntry).where(JournalEntry.source == f"supplement:{business_id}"))
            if entry is None:
                return None
            lines = list(session.scalars(select(JournalLine).where(JournalLine.entry_id == entry.id)
                                         .order_by(JournalLine.id)))
            session.expunge_all()
            return entry, lines
    finally:
        engine.dispose()


def _unallocated(employer: Api) -> Decimal:
    return Decimal(employer.get("payment", f"/employers/{EMPLOYER}/account")["unallocated"])


def _task(center: Api, business_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for row in center.get("workflow", "/tasks", status="open", per_page=100)["items"]:
            instance = row["instance"]
            if instance["business_type"] == TYPE and instance["business_id"] == business_id:
                return dict(row)
        return None

    return wait_for(find, what=f"the 补缴 task of {business_id}")


def test_a_supplement_submitted_and_approved_is_booked_as_type_02_from_the_unallocated_amount(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    first, second = MEMBERS
    before = _unallocated(employer)
    # The second amount makes the total exceed what is there by 771.09, whatever the demo seeded.
    amounts = (Decimal("450.00"), before + Decimal("321.09"))
    total = before + Decimal("771.09")
    for member, amount in zip(MEMBERS, amounts, strict=True):
        added = employer.call("POST", "payment", f"{ROSTER}/rows", json={"values": {
            "member_no": member["member_no"], "reason": "漏缴补缴", "month": "202501", "amount": f"{amount}"}})
        assert added.status_code == 201, added.text
        assert added.json()["message"] == f"录入成功，补缴金额{amount:.2f}元"
        # The name and ID come from the member service, asked with the payment service's own token.
        assert (added.json()["row"]["name"], added.json()["row"]["id_number"]) == (member["name"],
                                                                                   member["id_number"])
    refused = employer.call("POST", "payment", f"{ROSTER}/commit", json={"row_ids": []})
    assert refused.status_code == 422, refused.text
    assert refused.json()["message"] == f"未分配金额不足：需{total:,.2f}元，现有{before:,.2f}元，差额771.09元"
    _fund(stack, "771.09")
    committed = employer.call("POST", "payment", f"{ROSTER}/commit", json={"row_ids": []})
    assert committed.status_code == 201, committed.text
    business_id = str(committed.json()["business_id"])

    task = _task(center, business_id)
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                       json={"decision": "approve", "opinion": "同意"})
    assert done.status_code == 200, done.text

    found = wait_for(lambda: _journal(stack, business_id), what="the 补缴 booking")
    entry, lines = found
    assert (entry.detail_type, entry.amount, entry.headcount) == ("02", total, 2)
    assert entry.summary == "补缴 2025年01月"
    assert sorted((line.member_no, line.amount) for line in lines) == sorted(
        [(first["member_no"], amounts[0]), (second["member_no"], amounts[1])])
    assert _unallocated(employer) == before + Decimal("771.09") - total == Decimal("0.00")
    told = wait_for(lambda: [m for m in messages(employer) if m.get("business_id") == business_id
                             and m.get("business_type") == TYPE], what="the 补缴 message")
    assert "您已完成办理补缴" in told[0]["content"] and f"{total:,.2f}" in told[0]["content"]
    # The month is paid: the same member's 2025-01 is refused from now on.
    again = employer.call("POST", "payment", f"{ROSTER}/rows", json={"values": {
        "member_no": first["member_no"], "reason": "少缴补缴", "month": "202501", "amount": "1.00"}})
    assert again.status_code == 422 and "已补缴，同一缴存人同一月份只能补缴一次" in again.text, again.text
