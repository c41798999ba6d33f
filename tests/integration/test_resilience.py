"""Nothing is lost while the worker is down: the business waits in the outbox and in Redis."""

from __future__ import annotations

import time

from deploy.stack import Stack

from .helpers import center_api, employer_api, messages, open_task_for, wait_for


def _open_task_ids(center: object, request_id: int) -> list[int]:
    rows = center.get("workflow", "/tasks", status="open")["items"]  # type: ignore[attr-defined]
    return [r["task"]["id"] for r in rows if r["instance"]["business_id"] == str(request_id)]


def test_submission_made_while_the_worker_is_down_is_processed_when_it_returns(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    stack.stop_process("worker")
    try:
        submitted = employer.call("POST", "employer", "/employers/100100001/change-requests",
                                  json={"changes": [{"field": "legal_representative", "value": "钱志远"}]})
        assert submitted.status_code == 201, submitted.text
        request_id = submitted.json()["request"]["id"]
        time.sleep(3)
        # No worker, no process: the center has nothing to approve yet.
        assert _open_task_ids(center, request_id) == []
    finally:
        stack.restart_worker()
    row = open_task_for(center, request_id)
    center.call("POST", "workflow", f"/tasks/{row['task']['id']}/complete", json={"decision": "approve"})
    wait_for(lambda: [m for m in messages(employer) if m["business_id"] == str(request_id)
                              and m["business_type"] == "employer_change"], what="the message")
