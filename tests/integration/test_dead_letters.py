"""A poisoned event through the real worker: retried a bounded number of times, parked as a dead
letter of its service, shown in the admin console, and processed by a retry once the cause is fixed."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx

from deploy import demo_data as demo
from deploy.stack import ROOT, Stack

from ..threads import at_once
from .events_support import Console, shell
from .helpers import Api, center_api, wait_for

BPMN = ROOT / "services" / "workflow" / "processes" / "employer_change.bpmn"


def _submit_probe(stack: Stack, business_type: str, business_id: str) -> str:
    """A business.submitted for a business type with no BPMN file and no deployed process: the
    workflow service cannot start it, however often it tries."""
    data = {
        "business_type": business_type, "business_id": business_id, "owner": "employer", "title": "死信演练",
        "employer_no": demo.EMPLOYER_NO, "employer_name": demo.EMPLOYER_NAME, "initiator": "测试",
        "summary": "死信演练", "variables": {}, "form": {},
    }
    return shell(stack, "employer", "emit", "business.submitted", json.dumps(data, ensure_ascii=False))


def _dead_letter(center: Api, event_id: str, status: str = "open") -> dict[str, Any] | None:
    page = center.get("workflow", "/dead-letters", status=status, per_page=200)
    return next((item for item in page["items"] if item["event_id"] == event_id), None)


def _parked(center: Api, event_id: str, attempts: int) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        item = _dead_letter(center, event_id)
        return item if item and item["status"] == "dead" and item["attempts"] >= attempts else None

    return wait_for(check, timeout=60, what=f"event {event_id} parked after {attempts} attempts")


def test_a_poisoned_event_becomes_a_dead_letter_and_a_retry_after_the_fix_processes_it(
    stack: Stack, tmp_path: Path
) -> None:
    center = center_api(stack)
    business_type = f"probe_{uuid.uuid4().hex[:8]}"
    # Business ids no employer request can have: other tests find their tasks by request id.
    first = _submit_probe(stack, business_type, "probe-1")
    second = _submit_probe(stack, business_type, "probe-2")

    # HALL_EVENT_MAX_RETRIES=3 in the test stack: four attempts, then the event is parked (a copy
    # the relays happened to publish twice counts its own attempts on the same row).
    parked = _parked(center, first, attempts=4)
    assert parked["type"] == "business.submitted"
    assert f"业务类型 {business_type} 没有已部署的审批流程" in parked["last_error"]
    assert parked["first_failed_at"] < parked["last_failed_at"]
    assert json.loads(parked["payload"])["data"]["business_type"] == business_type
    _parked(center, second, attempts=4)

    # Ten simultaneous retries of the same dead letter against the running service: one is sent.
    answers = at_once([lambda: center.call("POST", "workflow", f"/dead-letters/{parked['id']}/retry")] * 10)
    assert sorted(r.status_code for r in answers) == [200] + [409] * 9
    assert {r.json()["message"] for r in answers if r.status_code == 409} == {"该事件已重新投递，请勿重复操作"}
    # The cause is still there: the one retry fails its four attempts again and the row keeps its history.
    again = _parked(center, first, attempts=parked["attempts"] + 4)
    assert again["retry_count"] == 1 and again["last_failed_at"] > parked["last_failed_at"]

    # The admin console shows both, with the error and the button.
    console = Console(stack)
    try:
        page = console.get("/admin/dead-letters")
        assert page.status_code == 200
        for event_id in (first, second):
            assert f'data-event-id="{event_id}"' in page.text
        assert f"业务类型 {business_type} 没有已部署的审批流程" in page.text
        assert "流程服务" in page.text and "重新投递" in page.text

        # The fix: the center deploys the process for that business type.
        bpmn = tmp_path / f"{business_type}.bpmn"
        bpmn.write_text(BPMN.read_text(encoding="utf-8").replace("employer_change", business_type), encoding="utf-8")
        shell(stack, "workflow", "deploy", business_type, str(bpmn))

        for item_id in (parked["id"], _dead_letter(center, second)["id"]):  # type: ignore[index]
            retried = console.submit(page, f"/admin/dead-letters/workflow/{item_id}/retry")
            assert retried.status_code == 200
            assert "已重新投递：流程服务 business.submitted" in retried.text
        for event_id, business_id in ((first, "probe-1"), (second, "probe-2")):
            wait_for(lambda e=event_id: _dead_letter(center, e, "resolved"),  # type: ignore[misc]
                     timeout=30, what="the retry processed")
            assert _open_task(center, business_type, business_id)["instance"]["title"] == "死信演练"
        assert _dead_letter(center, first) is None  # no longer open

        resolved_page = console.get("/admin/dead-letters?status=resolved")
        assert f'data-event-id="{first}"' in resolved_page.text and "已处理" in resolved_page.text
        late_click = console.submit(resolved_page, f"/admin/dead-letters/workflow/{parked['id']}/retry?status=resolved")
        assert "该事件已处理完成" in late_click.text
    finally:
        console.close()


def _open_task(center: Api, business_type: str, business_id: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for row in center.get("workflow", "/tasks", status="open", per_page=200)["items"]:
            instance = row["instance"]
            if instance["business_type"] == business_type and instance["business_id"] == business_id:
                return dict(row)
        return None

    return wait_for(find, what=f"the center task of {business_type} {business_id}")


def test_dead_letters_of_every_service_are_center_only(stack: Stack) -> None:
    from .helpers import employer_api

    employer = employer_api(stack)
    for service in ("auth", "employer", "member", "payment", "workflow", "notify"):
        url = stack.url(service) + "/dead-letters"
        assert httpx.get(url).status_code == 401
        assert employer.call("GET", service, "/dead-letters").status_code == 403
        assert center_api(stack).call("GET", service, "/dead-letters").status_code == 200
