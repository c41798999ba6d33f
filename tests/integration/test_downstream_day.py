"""A business day on the real stack read by the example downstream consumer
(deploy/examples/downstream_consumer.py): members registered, sealed, unsealed, changed and re-based; the
employer's changes approved after a return, rejected, and returned then ended; 补缴 booked and one that
the spent unallocated amount makes fail; an empty employer's closure rejected, then closed; a bank's
receipt paying a monthly bill; an interest year settled. The hall publishes every type of the catalog's
downstream list; the consumer, killed with SIGKILL halfway and started again at the end, stores every
event published meanwhile exactly once, each passing its schema."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

from deploy import demo_data as demo
from deploy.stack import BIN, ROOT, Stack
from hall_common import event_schemas
from services.payment.bills import hall_today

from ..reliability import Recorder
from .downstream_support import STREAM, Tap, consumer, stored
from .helpers import (
    EMPLOYER,
    Api,
    add_clean_employer,
    adjust_bases,
    bank_token,
    center_api,
    decide,
    employer_api,
    member_change,
    open_task_for,
    register_members,
    returned_change,
    roster_business,
    submit_change,
    task_of,
    wait_for,
)

GROUP = "business-day"
# Stored before the kill: a registration (no user task) and an employer change returned, corrected and
# approved after a claim.
MORNING = {"business.submitted", "process.started", "process.completed", "business.approved", "member.registered",
           "task.created", "task.claimed", "task.completed", "business.returned", "process.returned",
           "business.resubmitted", "process.resubmitted", "employer.info_changed"}
CLOSING = "100100019"  # an employer of this test alone, without money or members: its closure
LEDGER = "700700019"  # an account of this test alone on the payment service: its bill and its interest
INTEREST_YEAR = 2019  # ends 30 June 2019: only this test's opening balance is older than that
BILL_MONTH = date(2025, 1, 1)
MONEY = textwrap.dedent(f"""
    from datetime import date
    from decimal import Decimal
    from hall_common import db
    from services.payment import bills, create_app, ledger
    with create_app().app_context():
        session = db.session()
        ledger.book(session, employer_no="{LEDGER}", detail_type="99", summary="期初余额",
                    booking_date=date(2018, 6, 30), source="it-day:opening",
                    lines=[ledger.Line("M1901", Decimal("8000.00"))])
        bills.make_bill(session, "{LEDGER}", date({BILL_MONTH.year}, {BILL_MONTH.month}, 1),
                        [("M1901", Decimal("1200.00")), ("M1902", Decimal("300.00"))])
        session.commit()
""")


def post_receipt(stack: Stack, employer_no: str, reference: str, amount: Decimal) -> dict[str, Any]:
    posted = httpx.post(stack.url("payment") + "/receipts", headers={"Authorization": f"Bearer {bank_token(stack)}"},
                        json={"bank_reference": reference, "employer_no": employer_no, "amount": f"{amount}",
                              "received_on": hall_today().isoformat(), "memo": "汇缴款"}, timeout=10)
    assert posted.status_code == 201, posted.text
    return dict(posted.json())


def employer_changes(employer: Api, center: Api, tap: Tap) -> None:
    """Rejected; then returned and ended by the employer (结束流程)."""
    submitted = submit_change(employer, {"address": "山西省太原市小店区日结路3号"})
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["request"]["id"]
    decide(center, open_task_for(center, request_id), "reject", "地址无需变更")
    tap.wait("employer.info_change_rejected", business_id=str(request_id))
    request_id, row = returned_change(employer, center, {"phone": "0351-5550119"}, "电话号码有误")
    ended = employer.call("POST", "workflow", f"/instances/{row['instance']['id']}/end", json={"reason": "暂不变更"})
    assert ended.status_code == 200, ended.text
    tap.wait("business.ended", business_id=str(request_id))


def member_day(employer: Api, center: Api, tap: Tap, members: dict[str, str]) -> None:
    """封存 and 启封 (default processes, no task), two info changes (one approved, one rejected), a base
    raise the handler approves."""
    first, second, third = members.values()
    sealed = roster_business(employer, "member", "member_seal", {"member_no": first, "reason": "退休"})
    tap.wait("member.sealed", business_id=sealed)
    unsealed = roster_business(employer, "member", "member_unseal", {"member_no": first, "reason": "正常启封"})
    changed = member_change(employer, second, {"postcode": "030006"})
    refused = member_change(employer, third, {"postcode": "030007"})
    decide(center, task_of(center, "member_change", changed), "approve", "同意")
    decide(center, task_of(center, "member_change", refused), "reject", "证明材料不全")
    tap.wait("member.unsealed", business_id=unsealed)
    raised = adjust_bases(employer, {first: "4400"})
    decide(center, task_of(center, "base_adjustment", raised, "经办审核"), "approve", "同意")
    for type_, business_id in (("member.info_changed", changed), ("member.info_change_rejected", refused),
                               ("member.base_adjusted", raised)):
        tap.wait(type_, business_id=business_id)


def supplements(stack: Stack, employer: Api, center: Api, tap: Tap) -> None:
    """Two 补缴 submitted while the unallocated amount covers each: the first approved takes 1.00, so the
    second (all of it) no longer fits when approved and is booked as failed."""
    have = Decimal(employer.get("payment", f"/employers/{EMPLOYER}/account")["unallocated"])
    if have < Decimal("2.00"):  # another test spent the demo's money: a bank's receipt tops it up
        post_receipt(stack, EMPLOYER, f"DAY-{EMPLOYER}-TOPUP", Decimal("100.00"))
        have += Decimal("100.00")
    # Seeded members no other test pays for, in a month before the demo's money history: a member the day
    # registered would get an account at the payment service, which the demo's own count must not see.
    month = "202312"
    second, third = (m["member_no"] for m in [m for m in demo.members() if m["status"] == "01"][10:12])
    small = roster_business(employer, "payment", "supplementary_payment", {
        "member_no": second, "reason": "漏缴补缴", "month": month, "amount": "1.00"})
    whole = roster_business(employer, "payment", "supplementary_payment", {
        "member_no": third, "reason": "漏缴补缴", "month": month, "amount": f"{have:.2f}"})
    decide(center, task_of(center, "supplementary_payment", small), "approve", "同意")
    tap.wait("payment.supplemented", business_id=small)
    decide(center, task_of(center, "supplementary_payment", whole), "approve", "同意")
    failed = tap.wait("payment.supplement_failed", business_id=whole)
    assert failed["data"]["reason"].startswith("未分配金额不足"), failed


def closure(stack: Stack, center: Api, tap: Tap) -> None:
    """零余额销户 of an empty employer: rejected by the center, filed again and approved."""
    add_clean_employer(stack, CLOSING, "太原市日结演练商贸有限公司", "91140100MA0K00019X")
    api = employer_api(stack, CLOSING, CLOSING)
    for decision, outcome in (("reject", "employer.closure_rejected"), ("approve", "employer.closed")):
        submitted = api.call("POST", "employer", f"/employers/{CLOSING}/closure")
        assert submitted.status_code == 201, submitted.text
        request_id = str(submitted.json()["request"]["id"])
        decide(center, task_of(center, "zero_balance_closure", request_id), decision, "销户演练")
        tap.wait(outcome, business_id=request_id)


def money(stack: Stack, center: Api, tap: Tap) -> None:
    """A bank's receipt paying an unpaid monthly bill of an account, and the interest year the center settles."""
    subprocess.run([str(BIN / "python"), "-c", MONEY], cwd=ROOT, env=stack.env(), check=True, timeout=60)
    paid = post_receipt(stack, LEDGER, f"DAY-{LEDGER}-{BILL_MONTH:%Y%m}", Decimal("1500.00"))
    assert paid["paid_months"] == [f"{BILL_MONTH:%Y-%m}"], paid
    started = center.call("POST", "payment", "/interest/runs", json={"year": INTEREST_YEAR})
    assert started.status_code == 202, started.text
    tap.wait("payment.receipt_booked", employer_no=LEDGER)
    tap.wait("payment.remittance_paid", employer_no=LEDGER, month=f"{BILL_MONTH:%Y-%m}")
    tap.wait("payment.interest_settled", employer_no=LEDGER, interest_year=INTEREST_YEAR)


def test_a_business_day_reaches_the_downstream_consumer_every_type_once_across_a_kill(
        stack: Stack, tmp_path: Path, reliability_report: Recorder) -> None:
    """A scripted business day of every business type, read by the example downstream consumer, which is
    SIGKILLed after the morning and started again at the end: every event published is stored exactly
    once, each passing its schema, and nothing is left pending in the consumer group."""
    redis: Any = Redis.from_url(stack.redis_url, decode_responses=True)
    tap = Tap(redis)
    db_path = tmp_path / "day.sqlite3"
    employer, center = employer_api(stack), center_api(stack)
    first = consumer(stack, db_path, group=GROUP)
    try:
        members = register_members(employer, ["日结甲", "日结乙", "日结丙"], "4000")
        request_id, _ = returned_change(employer, center, {"address": "山西省太原市小店区日结路1号"}, "地址请写全")
        corrected = employer.call("PUT", "employer", f"/employers/{EMPLOYER}/change-requests/{request_id}",
                                  json={"changes": [{"field": "address", "value": "山西省太原市小店区日结路2号"}]})
        assert corrected.status_code == 200, corrected.text
        task = open_task_for(center, request_id)
        claimed = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/claim")
        assert claimed.status_code == 200, claimed.text
        decide(center, task, "approve", "同意")
        tap.wait("employer.info_changed", business_id=str(request_id))
        wait_for(lambda: {type_ for event_id, type_ in stored(db_path, "id, type") if event_id not in tap.before}
                 >= MORNING or None, what="the morning's events stored downstream")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)

    # While the reader is down the hall goes on, and the stream keeps what it publishes.
    employer_changes(employer, center, tap)
    member_day(employer, center, tap, members)
    supplements(stack, employer, center, tap)
    closure(stack, center, tap)
    money(stack, center, tap)

    published = {event["id"]: event for event in tap.events()}
    assert consumer(stack, db_path, "--exit-when-idle", group=GROUP).wait(60) == 0
    rows = stored(db_path, "id, type, schemaversion, data")
    times = Counter(event_id for event_id, *_ in rows)
    reliability_report.figures(events=len(published), faults=1,
                               lost=sum(1 for event_id in published if times[event_id] == 0),
                               duplicated=sum(1 for event_id in published if times[event_id] > 1))
    assert [event_id for event_id in published if times[event_id] != 1] == []
    assert set(times) <= {json.loads(fields["event"])["id"] for _, fields in redis.xrange(STREAM)}
    ours = {event_id: (type_, version, json.loads(data)) for event_id, type_, version, data in rows
            if event_id not in tap.before}
    missing = set(event_schemas.downstream_types()) - {type_ for type_, _, _ in ours.values()}
    assert not missing, f"never stored downstream: {sorted(missing)}"
    assert {type_ for type_, _, _ in ours.values()} == set(event_schemas.downstream_types())
    assert "auth.session_revoked" not in {event["type"] for event in published.values()}  # the closure's
    for event_id, event in published.items():
        assert event["dataschema"] == event_schemas.schema_uri(event["type"]), event
        assert event["schemaversion"] == str(event_schemas.spec(event["type"]).version), event
        assert event_schemas.problems(event) == [], event
        assert ours[event_id] == (event["type"], event["schemaversion"], event["data"])
    # Everything delivered to the group was acknowledged: nothing waits for a reader that died.
    assert redis.xpending(STREAM, GROUP)["pending"] == 0
