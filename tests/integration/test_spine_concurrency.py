"""Exactly once against the running services: ten center users completing one task at the same moment
(SQLite by default, PostgreSQL with HALL_TEST_POSTGRES), and the rows read from the owner."""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

import httpx
import sqlalchemy as sa

from deploy.stack import Stack

from ..threads import at_once
from .helpers import (
    EMPLOYER,
    Api,
    center_api,
    employer_api,
    messages,
    open_task_for,
    request_status,
    submit_change,
    wait_for,
)

TAKEN = "该任务已办理，请刷新后查看"


def _race(center: Api, task_id: int, decisions: list[str]) -> list[httpx.Response]:
    """Every decision posted on its own thread, released together."""
    def decide(decision: str) -> httpx.Response:
        return center.call("POST", "workflow", f"/tasks/{task_id}/complete",
                           json={"decision": decision, "opinion": "并发审批"})

    responses = at_once([partial(decide, d) for d in decisions])
    assert all(isinstance(r, httpx.Response) for r in responses), responses
    return responses


def _outbox_types(stack: Stack, service: str, subject: str) -> list[str]:
    engine = sa.create_engine(stack.database_url(service))
    try:
        with engine.connect() as connection:
            payloads = connection.execute(sa.text("SELECT payload FROM outbox")).scalars().all()
    finally:
        engine.dispose()
    return [e["type"] for e in map(json.loads, payloads) if e.get("subject") == subject]


def test_ten_approvers_completing_one_task_give_one_winner_and_one_outcome(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    for round_, decisions in enumerate((["approve"] * 10, ["approve", "reject"] * 5)):
        submitted = submit_change(employer, {"contact_name": f"并发经办人{round_}"})
        assert submitted.status_code == 201, submitted.text
        request_id = submitted.json()["request"]["id"]
        task_id = open_task_for(center, request_id)["task"]["id"]

        responses = _race(center, task_id, decisions)
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] + [409] * 9, [(r.status_code, r.text[:200]) for r in responses]
        [winner] = [decisions[i] for i, r in enumerate(responses) if r.status_code == 200]
        assert {r.json()["message"] for r in responses if r.status_code == 409} == {TAKEN}

        subject = f"employer_change/{request_id}"
        expected = "business.approved" if winner == "approve" else "business.rejected"
        emitted = _outbox_types(stack, "workflow", subject)
        assert [t for t in emitted if t in ("business.approved", "business.rejected")] == [expected]
        assert emitted.count("task.completed") == 1 and emitted.count("process.completed") == 1
        def mine(business_id: str = str(request_id)) -> list[dict[str, Any]]:
            return [m for m in messages(employer) if m["business_id"] == business_id]

        wait_for(mine, what="the message")
        assert request_status(employer, request_id) == ("approved" if winner == "approve" else "rejected")
        time.sleep(1.5)  # a second outcome, had one been emitted, would have arrived by now
        assert len(mine()) == 1
        history = employer.get("employer", f"/employers/{EMPLOYER}/change-history")
        assert len([h for h in history if h["request_id"] == request_id]) == (1 if winner == "approve" else 0)
        domain = [t for t in _outbox_types(stack, "employer", subject) if t.startswith("employer.")]
        assert len(domain) == 1


def test_the_center_reads_the_rows_from_the_owner_not_from_the_process(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    submitted = submit_change(employer, {"phone": "0351-8889999", "postcode": "030008"})
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["request"]["id"]
    row = open_task_for(center, request_id)
    assert row["instance"]["summary"] == "单位联系电话、邮政编码"
    assert row["instance"]["row_count"] == 2
    assert "form" not in row["instance"]
    rows = center.get("employer", f"/businesses/employer_change/{request_id}")
    assert [(r["label"], r["new"]) for r in rows["items"]] == [("单位联系电话", "0351-8889999"), ("邮政编码", "030008")]
    # The employer may read its own business, and the center decides it as usual.
    assert employer.get("employer", f"/businesses/employer_change/{request_id}")["total"] == 2
    done = center.call("POST", "workflow", f"/tasks/{row['task']['id']}/complete", json={"decision": "approve"})
    assert done.status_code == 200, done.text
    wait_for(lambda: request_status(employer, request_id) == "approved", what="the change applied")
