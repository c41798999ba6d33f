"""The designer's deploy check against the real auth service: the workflow service asks auth for the
center's groups with the caller's own token, and refuses a task whose group the center has not defined,
naming the element. (Only validation and refusals here: deploying would change a process other tests
in the same stack run.)"""

from __future__ import annotations

import uuid
from pathlib import Path

from deploy.stack import Stack

from .events_support import shell
from .helpers import center_api, employer_api

TEST_FILE = Path(__file__).resolve().parents[1] / "unit" / "workflow" / "employer_change.bpmn"
PROCESS = TEST_FILE.read_text(encoding="utf-8")


def test_validate_and_deploy_check_groups_with_the_auth_service(stack: Stack) -> None:
    center = center_api(stack)
    url = "/definitions/employer_change/validate"
    passed = center.call("POST", "workflow", url, json={"bpmn_xml": PROCESS})
    assert passed.status_code == 200, passed.text
    assert passed.json()["message"] == "校验通过"

    unknown = PROCESS.replace('value="handler"', 'value="nosuch_group"')
    for action in ("validate", "deploy"):
        body = {"bpmn_xml": unknown, **({"note": "未定义的组"} if action == "deploy" else {})}
        refused = center.call("POST", "workflow", f"/definitions/employer_change/{action}", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["message"] == "任务「中心审核」(Task_center_review) 的候选组 nosuch_group 未定义"
        assert refused.json()["errors"]["element"] == "Task_center_review"
    # By lane: the group's Chinese name resolves to its code.
    by_lane = PROCESS.replace('<spiffworkflow:property name="candidate_group" value="handler" />', "").replace(
        'name="中心审核岗"', 'name="复核"')
    assert center.call("POST", "workflow", url, json={"bpmn_xml": by_lane}).status_code == 200

    employer = employer_api(stack)
    assert employer.call("POST", "workflow", url, json={"bpmn_xml": PROCESS}).status_code == 403


def test_a_group_a_deployed_process_names_cannot_be_deleted(stack: Stack, tmp_path: Path) -> None:
    """The auth service asks the workflow service, with the admin's own token, which processes send
    tasks to the group, and refuses naming them; a group no process names is deleted."""
    center = center_api(stack)
    code, spare = (f"g{uuid.uuid4().hex[:8]}" for _ in range(2))
    for group in (code, spare):
        created = center.call("POST", "auth", "/groups", json={"code": group, "name": f"临时组{group[-4:]}"})
        assert created.status_code == 201, created.text
    key = f"probe_group_{uuid.uuid4().hex[:6]}"  # a business type of its own: no other test runs it
    path = tmp_path / f"{key}.bpmn"
    path.write_text(PROCESS.replace('value="handler"', f'value="{code}"').replace('id="employer_change"',
                                                                               f'id="{key}"'), encoding="utf-8")
    shell(stack, "workflow", "deploy", key, str(path))

    refused = center.call("DELETE", "auth", f"/groups/{code}")
    assert refused.status_code == 409, refused.text
    said = refused.json()["message"]
    assert said.startswith(f"用户组「临时组{code[-4:]}」是以下流程的候选组，请先在流程设计中修改："), said
    assert "（第1版）" in said
    assert code in [g["code"] for g in center.get("auth", "/groups")["items"]]
    assert center.call("DELETE", "auth", f"/groups/{spare}").status_code == 200
