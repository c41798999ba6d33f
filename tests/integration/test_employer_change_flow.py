"""Employer info change end to end through the real processes: gunicorn services, Redis, a Celery
worker process, SpiffWorkflow on the shipped BPMN file. Nothing here calls a handler directly."""

from __future__ import annotations

import json
from typing import Any

import httpx
import sqlalchemy as sa
from celery import Celery

from deploy import demo_data as demo
from deploy.stack import Stack

from .helpers import (
    EMPLOYER,
    center_api,
    employer_api,
    messages,
    open_task_for,
    profile_values,
    request_status,
    submit_change,
    wait_for,
)


def test_approve_path_applies_change_records_history_and_messages(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    before = profile_values(employer)
    submitted = submit_change(employer, {"address": "山西省太原市迎泽区迎泽大街1号"})
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["message"] == "已提交至中心审核"
    request_id = submitted.json()["request"]["id"]

    duplicate = submit_change(employer, {"phone": "0351-1234567"})
    assert duplicate.status_code == 409
    assert duplicate.json()["message"] == "存在未审批完成的单位信息变更业务"

    row = open_task_for(center, request_id)
    assert row["task"]["name"] == "经办审核"
    assert row["instance"]["summary"] == "单位地址"
    rows = center.get("employer", f"/businesses/employer_change/{request_id}")["items"]
    assert rows[0]["new"] == "山西省太原市迎泽区迎泽大街1号"
    done = center.call("POST", "workflow", f"/tasks/{row['task']['id']}/complete",
                       json={"decision": "approve", "opinion": "同意变更"})
    assert done.status_code == 200, done.text
    again = center.call("POST", "workflow", f"/tasks/{row['task']['id']}/complete",
                        json={"decision": "approve", "opinion": "同意变更"})
    assert again.status_code == 409

    wait_for(lambda: profile_values(employer)["address"] == "山西省太原市迎泽区迎泽大街1号", what="the change applied")
    history = employer.get("employer", f"/employers/{EMPLOYER}/change-history")
    mine = [h for h in history if h["request_id"] == request_id]
    assert [(h["label"], h["old_value"], h["new_value"], h["operator"], h["approver"]) for h in mine] == [
        ("单位地址", before["address"], "山西省太原市迎泽区迎泽大街1号", "王晓燕", "中心审核员李明")
    ]
    message = wait_for(
        lambda: [m for m in messages(employer) if m["business_id"] == str(request_id)
                              and m["business_type"] == "employer_change"], what="the message"
    )
    assert message[0]["content"] == (
        f"尊敬的太原市示例科技有限公司，您已完成办理单位信息变更（业务编号{request_id}，变更项：单位地址）！")
    assert request_status(employer, request_id) == "approved"


def test_reject_path_changes_nothing_and_messages_the_opinion(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    before = profile_values(employer)
    submitted = submit_change(employer, {"postcode": "030024"})
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["request"]["id"]
    row = open_task_for(center, request_id)

    no_opinion = center.call("POST", "workflow", f"/tasks/{row['task']['id']}/complete",
                             json={"decision": "reject", "opinion": " "})
    assert no_opinion.status_code == 422
    assert no_opinion.json()["message"] == "审批不通过时请填写审批意见"
    rejected = center.call("POST", "workflow", f"/tasks/{row['task']['id']}/complete",
                           json={"decision": "reject", "opinion": "邮政编码与单位地址不符"})
    assert rejected.status_code == 200, rejected.text

    message = wait_for(
        lambda: [m for m in messages(employer) if m["business_id"] == str(request_id)
                              and m["business_type"] == "employer_change"], what="the message"
    )
    assert "未通过中心审核" in message[0]["content"]
    assert "审批意见：邮政编码与单位地址不符" in message[0]["content"]
    assert request_status(employer, request_id) == "rejected"
    assert profile_values(employer) == before
    history = employer.get("employer", f"/employers/{EMPLOYER}/change-history")
    assert [h for h in history if h["request_id"] == request_id] == []


def _outbox_event(stack: Stack, service: str, type_: str, subject: str) -> dict[str, object]:
    engine = sa.create_engine(stack.database_url(service))
    with engine.connect() as connection:
        payloads = connection.execute(sa.text("SELECT payload FROM outbox WHERE type = :t"), {"t": type_}).scalars()
        events = [json.loads(p) for p in payloads]
    engine.dispose()
    [event] = [e for e in events if e.get("subject") == subject]
    return event


def test_redelivered_events_change_nothing(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    request_id = submit_change(employer, {"contact_name": "李晓明"}).json()["request"]["id"]
    row = open_task_for(center, request_id)
    center.call("POST", "workflow", f"/tasks/{row['task']['id']}/complete", json={"decision": "approve"})
    wait_for(lambda: [m for m in messages(employer) if m["business_id"] == str(request_id)
                              and m["business_type"] == "employer_change"], what="the message")
    history_before = employer.get("employer", f"/employers/{EMPLOYER}/change-history")
    messages_before = messages(employer)

    subject = f"employer_change/{request_id}"
    outcome = _outbox_event(stack, "workflow", "business.approved", subject)
    applied = _outbox_event(stack, "employer", "employer.info_changed", subject)
    submitted = _outbox_event(stack, "employer", "business.submitted", subject)
    sender = Celery(broker=stack.redis_url, backend=stack.redis_url)
    try:
        for queue, event in (("employer", outcome), ("notify", applied), ("workflow", submitted)):
            result = sender.send_task(f"{queue}.handle_event", args=[event], queue=queue, ignore_result=False)
            assert result.get(timeout=30) == "duplicate"
    finally:
        sender.close()

    assert employer.get("employer", f"/employers/{EMPLOYER}/change-history") == history_before
    assert messages(employer) == messages_before
    assert [r for r in center.get("workflow", "/tasks", status="open")["items"]
            if r["instance"]["business_id"] == str(request_id)] == []


def test_every_service_serves_health_and_its_openapi_document(stack: Stack) -> None:
    for service in ("auth", "employer", "member", "payment", "workflow", "notify"):
        assert httpx.get(stack.url(service) + "/health").json() == {"status": "ok", "service": service}
        spec = httpx.get(stack.url(service) + "/openapi.json").json()
        assert spec["openapi"].startswith("3.")
        assert any(path.startswith(("/employers", "/tasks", "/auth")) for path in spec["paths"])


def test_members_and_account_of_the_demo_employer(stack: Stack) -> None:
    """The seeded members with their monthly amounts (the member tests of the same stack register, seal
    and unseal more of them: the demo's own are checked, whatever was added)."""
    employer = employer_api(stack)
    listed: dict[str, dict[str, Any]] = {}
    page_no, page = 1, employer.get("member", f"/employers/{EMPLOYER}/members", per_page=200)
    while True:
        listed.update((item["member"]["member_no"], item) for item in page["items"])
        if len(listed) >= page["total"]:
            break
        page_no += 1
        page = employer.get("member", f"/employers/{EMPLOYER}/members", per_page=200, page=page_no)
    assert sum(page["status_counts"].values()) == page["total"] == len(listed)
    seeded = demo.members()
    assert {m["member_no"] for m in seeded} <= set(listed)
    assert listed[seeded[0]["member_no"]]["monthly_amount"] == "720.00"  # base 3000.00 at 12% + 12%
    closed = [m["member_no"] for m in seeded if m["status"] == "05"]
    assert {listed[no]["status_name"] for no in closed} == {"提取销户"}  # no member business touches these
    account = employer.get("payment", f"/employers/{EMPLOYER}/account")
    assert account["member_accounts"] == len(seeded)
