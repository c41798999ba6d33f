"""Money in through the running system: the bills job (beat's, on the real worker) bills the month with
the monthly amounts the member service reports to the payment worker's own token; a bank's receipt
posted with a service token issued by the documented command pays that bill with the demo's
unallocated amount, and reaches the journal once, however often it is posted."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from celery import Celery

from deploy.stack import Stack
from services.payment.bills import hall_today
from services.payment.models import JournalEntry, JournalLine, RemittanceBill
from services.payment.tasks import MAKE_BILLS

from .helpers import EMPLOYER, bank_token, employer_api, wait_for


def _query(stack: Stack, query: Any) -> list[Any]:
    """Through the models' columns: money is stored in fen on SQLite and read back as Decimal yuan."""
    engine = sa.create_engine(stack.database_url("payment"))
    try:
        with engine.connect() as connection:
            return list(connection.execute(query))
    finally:
        engine.dispose()


def test_a_banks_receipt_pays_the_month_beat_billed_and_reaches_the_journal_once(stack: Stack) -> None:
    month = hall_today().replace(day=1)

    def bill() -> Any:
        rows = _query(stack, sa.select(RemittanceBill.id, RemittanceBill.amount, RemittanceBill.headcount,
                                       RemittanceBill.status)
                      .where(RemittanceBill.employer_no == EMPLOYER, RemittanceBill.month == month))
        return rows[0] if rows else None

    # Beat sends the job hourly (its first run an hour after start): sent here as beat sends it, twice.
    sender = Celery(broker=stack.redis_url, backend=stack.redis_url)
    try:
        for _ in range(2):
            sender.send_task(MAKE_BILLS, queue="payment", ignore_result=True)
    finally:
        sender.close()
    bill_id, amount, headcount, status = wait_for(bill, timeout=60, what="the job's remittance bill of the month")
    wait_for(lambda: _query(stack, sa.select(sa.func.count()).select_from(RemittanceBill)
                            .where(RemittanceBill.month == month))[0][0] == 2, what="both demo employers billed")
    assert status == "unpaid" and headcount > 200
    employer = employer_api(stack)
    before = employer.get("payment", f"/employers/{EMPLOYER}/account")
    waiting = Decimal(before["unallocated"])
    # The demo's money for supplementary payments (20,000.00 when seeded; other tests may have moved it),
    # less than the month's bill: this receipt tops it up.
    assert Decimal("0.00") <= waiting < amount
    assert before["last_remittance_month"] != f"{month:%Y-%m}"

    headers = {"Authorization": f"Bearer {bank_token(stack)}"}
    body = {"bank_reference": f"ICBC-IT-{month:%Y%m}", "employer_no": EMPLOYER,
            "amount": str(amount - waiting + Decimal("123.45")), "received_on": hall_today().isoformat(),
            "memo": "本月汇缴款"}
    posted = httpx.post(stack.url("payment") + "/receipts", json=body, headers=headers, timeout=10)
    assert posted.status_code == 201, posted.text
    assert posted.json()["paid_months"] == [f"{month:%Y-%m}"]
    again = httpx.post(stack.url("payment") + "/receipts", json=body, headers=headers, timeout=10)
    assert again.status_code == 200 and again.json()["receipt"]["id"] == posted.json()["receipt"]["id"]
    other = httpx.post(stack.url("payment") + "/receipts", json={**body, "amount": "1.00"}, headers=headers,
                       timeout=10)
    assert other.status_code == 409

    entries = _query(stack, sa.select(JournalEntry.id, JournalEntry.detail_type, JournalEntry.amount,
                                      JournalEntry.headcount).where(JournalEntry.source == f"bill:{bill_id}"))
    assert len(entries) == 1
    entry_id, detail_type, booked, lines = entries[0]
    assert (detail_type, booked, lines) == ("01", amount, headcount)
    counted = _query(stack, sa.select(sa.func.count()).select_from(JournalLine).where(JournalLine.entry_id == entry_id))
    assert counted[0][0] == headcount
    after = employer.get("payment", f"/employers/{EMPLOYER}/account")
    assert Decimal(after["unallocated"]) == Decimal("123.45")
    assert Decimal(after["balance"]) - Decimal(before["balance"]) == amount
    assert after["last_remittance_month"] == f"{month:%Y-%m}"
    amounts, interest = _query(stack, sa.select(sa.func.sum(JournalLine.amount), sa.func.sum(JournalLine.interest))
                               .where(JournalLine.employer_no == EMPLOYER))[0]
    assert amounts + (interest or Decimal("0.00")) == Decimal(after["balance"])
