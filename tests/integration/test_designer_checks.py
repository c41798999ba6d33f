"""The designer's deploy check against the real auth service: the workflow service asks auth for the
center's groups with the caller's own token, and refuses a task whose group the center has not defined,
naming the element. (Only validation and refusals here: deploying would change a process other tests
in the same stack run.)"""

from __future__ import annotations

from pathlib import Path

from deploy.stack import Stack

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
