"""Code in a process cannot stop the hall, on the real stack: each attack the text shows is refused
at deploy naming its element; the ones only data reveals (an integer squared 26 times, data beyond the
cap, a loop of automatic nodes) stop at the first step on the real worker, as a dead letter after one
attempt whose Chinese message names the node; meanwhile another employer's change is submitted,
approved and announced as usual."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from deploy import demo_data as demo
from deploy.stack import Stack
from tests.unit.workflow import attacks

from .events_support import shell
from .helpers import Api, center_api, employer_api, open_task_for, request_status, submit_change, wait_for

DEPLOY = "/definitions/employer_change/deploy"


def _versions(center: Api) -> int:
    return len(center.get("workflow", "/definitions/employer_change/versions")["items"])


def test_attacks_the_text_shows_are_refused_at_deploy_naming_the_element(stack: Stack) -> None:
    center = center_api(stack)
    before = _versions(center)
    for code, message in attacks.STATIC_CONDITIONS.items():
        refused = center.call("POST", "workflow", DEPLOY, json={"bpmn_xml": attacks.with_condition(code), "note": "试"})
        assert refused.status_code == 422, refused.text
        assert message in refused.json()["message"] and refused.json()["errors"]["element"] == "Flow_approved"
    in_called = attacks.with_called_process("y = [0] * 200000000")
    cycle = attacks.with_called_process("y = 1", cycle=True)
    for xml, element in ((in_called, "S_task"), (cycle, "Call_back")):
        refused = center.call("POST", "workflow", DEPLOY, json={"bpmn_xml": xml, "note": "试"})
        assert (refused.status_code, refused.json()["errors"]["element"]) == (422, element), refused.text
    assert _versions(center) == before


def _probe(stack: Stack, tmp_path: Path, name: str, xml: str) -> str:
    """A business type of its own (no other test runs it) deployed with the attacking process, and a
    submission of the second demo employer that starts it."""
    key = f"probe_{name}_{uuid.uuid4().hex[:6]}"
    path = tmp_path / f"{key}.bpmn"
    path.write_text(xml.replace('id="employer_change"', f'id="{key}"'), encoding="utf-8")
    shell(stack, "workflow", "deploy", key, str(path))
    return shell(stack, "employer", "emit", "business.submitted", json.dumps({
        "business_type": key, "business_id": f"{name}-1", "owner": "employer", "title": "攻击演练",
        "employer_no": demo.SECOND_EMPLOYER_NO, "employer_name": "演练单位", "initiator": "测试",
        "summary": "攻击演练", "variables": {}, "form": {},
    }, ensure_ascii=False))


def test_attacks_only_data_reveals_stop_at_once_while_another_employer_business_flows(
        stack: Stack, tmp_path: Path) -> None:
    center = center_api(stack)
    started = time.monotonic()
    probes = {
        _probe(stack, tmp_path, "square", attacks.with_script(attacks.SQUARING.replace("\n", "&#10;"))):
            "节点「计算」(Task_script)：整数超出100位",
        _probe(stack, tmp_path, "data", attacks.with_script("&#10;".join(f"s{i} = 'x' * 9000" for i in range(8)))):
            "节点「计算」(Task_script)：流程数据超过64KB",
        _probe(stack, tmp_path, "loop", attacks.looping()):
            "一次办理自动执行的节点超过500个（流程中可能有不经人工任务的循环）",
    }

    # The demo employer's change goes through submit, approval and its message meanwhile.
    employer = employer_api(stack)
    submitted = submit_change(employer, {"address": f"太原市小店区有界路{uuid.uuid4().hex[:6]}号"})
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["request"]["id"]
    task = open_task_for(center, request_id)
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                       json={"decision": "approve", "opinion": "同意"})
    assert done.status_code == 200, done.text
    wait_for(lambda: request_status(employer, request_id) == "approved", what="the change approved")

    def parked() -> dict[str, dict[str, object]] | None:
        items = center.get("workflow", "/dead-letters", per_page=200)["items"]
        found = {i["event_id"]: i for i in items if i["event_id"] in probes}
        return found if len(found) == len(probes) else None

    letters = wait_for(parked, timeout=60, what="the attacking submissions parked")
    for event_id, expected in probes.items():
        letter = letters[event_id]
        assert letter["attempts"] == 1, letter  # no retries: the same definition fails the same way
        assert expected in str(letter["last_error"]) and "请联系管理员在流程设计中修改" in str(letter["last_error"])
    assert time.monotonic() - started < 120  # generous: every attack answered, none held a worker
