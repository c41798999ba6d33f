"""Definitions: validate and deploy refuse each kind of bad file with the element at fault; versions
are listed and readable; a running instance finishes on the version it started on."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from services.workflow import definitions, engine
from services.workflow.definitions import PROCESS_DIR

from .conftest import GROUPS, bpmn, center, complete, employer, post, submit, tasks, the_task

PROCESS = bpmn("employer_change.bpmn")
TASK = '<bpmn:userTask id="Task_center_review" name="中心审核">'
GROUP = '<spiffworkflow:property name="candidate_group" value="handler" />'
REJECTED_OUTCOME = '<spiffworkflow:property name="outcome" value="rejected" />'


def validate(app: Flask, xml: str, key: str = "employer_change", headers: dict[str, str] | None = None) -> Any:
    return post(app, f"/definitions/{key}/validate", headers or center(), {"bpmn_xml": xml})


def deploy(app: Flask, xml: str, note: str = "", key: str = "employer_change") -> Any:
    return post(app, f"/definitions/{key}/deploy", center(), {"bpmn_xml": xml, "note": note})


def test_every_shipped_process_passes_the_deploy_checks_with_the_default_groups() -> None:
    files = sorted(PROCESS_DIR.glob("*.bpmn"))
    assert "employer_change" in [f.stem for f in files]
    for path in files:
        parsed = engine.parse(path.read_text(encoding="utf-8"), path.stem, GROUPS)
        assert parsed.end_outcomes and set(parsed.end_outcomes.values()) <= {"approved", "rejected"}, path.name
        assert set(parsed.task_groups.values()) <= {g["code"] for g in GROUPS}, path.name


def test_a_valid_file_passes_and_only_an_admin_may_check_it(app: Flask) -> None:
    passed = validate(app, PROCESS)
    assert passed.status_code == 200 and passed.get_json() == {"message": "校验通过", "name": "单位信息变更"}
    assert validate(app, PROCESS, headers=center(admin=False)).status_code == 403
    assert validate(app, PROCESS, headers=employer()).status_code == 403
    assert validate(app, PROCESS, key="no_such_business").status_code == 404


@pytest.mark.parametrize(("xml", "message", "element"), [
    ("<bpmn:definitions", "流程文件无法解析：", ""),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "流程文件无法解析：", ""),
    (PROCESS.replace('id="employer_change"', 'id="seal"').replace('processRef="employer_change"', 'processRef="seal"'),
     "流程标识 seal 与业务类型 employer_change 不一致", "seal"),
    (PROCESS.replace('value="handler"', 'value="xyz"'), "任务「中心审核」(Task_center_review) 的候选组 xyz 未定义",
     "Task_center_review"),
    (PROCESS.replace(GROUP, "").replace('name="中心审核岗"', 'name=""'),
     "任务「中心审核」(Task_center_review) 未指定候选组",
     "Task_center_review"),
    (PROCESS.replace(REJECTED_OUTCOME, ""),
     "结束事件「审批不通过」(EndEvent_rejected) 未设置审批结果（outcome 为 approved 或 rejected）",
     "EndEvent_rejected"),
    (PROCESS.replace(REJECTED_OUTCOME, REJECTED_OUTCOME.replace("rejected", "maybe")),
     "结束事件「审批不通过」(EndEvent_rejected) 未设置审批结果", "EndEvent_rejected"),
    (PROCESS.replace("StartEvent_submitted", "Start"), "元素标识 Start 为保留字，请改用其他标识", "Start"),
    (PROCESS.replace('targetRef="Gateway_decision"', 'targetRef="Nowhere"'), "流程文件无法解析：",
     "Task_center_review"),
])
def test_each_bad_file_is_refused_naming_the_element_and_nothing_is_deployed(
    app: Flask, xml: str, message: str, element: str
) -> None:
    for response in (validate(app, xml), deploy(app, xml, "坏文件")):
        body = response.get_json()
        assert response.status_code == 422, body
        assert body["message"].startswith(message)
        assert body["errors"]["element"] == element
        assert body["errors"]["json"]["bpmn_xml"] == [body["message"]]
    versions = app.test_client().get("/definitions/employer_change/versions", headers=center()).get_json()["items"]
    assert [v["version"] for v in versions] == [1]


def test_a_lane_names_the_group_by_its_name_and_a_removed_group_refuses(
    app: Flask, center_groups: list[dict[str, str]]
) -> None:
    by_lane = PROCESS.replace(GROUP, "").replace('name="中心审核岗"', 'name="复核"')
    assert deploy(app, by_lane, "按泳道分组").status_code == 201
    detail = app.test_client().get("/definitions/employer_change/versions/2", headers=center()).get_json()
    assert detail["task_groups"] == {"Task_center_review": "reviewer"}
    center_groups[:] = [g for g in center_groups if g["code"] != "handler"]  # the center deleted 经办
    refused = validate(app, PROCESS)
    assert refused.get_json()["message"] == "任务「中心审核」(Task_center_review) 的候选组 handler 未定义"


def test_deploy_makes_a_version_with_its_note_and_an_audit_record(app: Flask) -> None:
    changed = PROCESS.replace('name="中心审核"', 'name="中心复核"').replace(
        'isExecutable="true">', 'isExecutable="true"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="initiator_may_end" value="true" /></spiffworkflow:properties>'
        '</bpmn:extensionElements>', 1)
    assert post(app, "/definitions/employer_change/deploy", center(admin=False),
                {"bpmn_xml": changed}).status_code == 403
    deployed = deploy(app, changed, "改为复核")
    assert deployed.status_code == 201, deployed.get_json()
    body = deployed.get_json()
    assert (body["version"], body["note"], body["deployed_by"]) == (2, "改为复核", "center01")
    assert body["initiator_may_end"] is True
    same = deploy(app, changed, "再来一次")
    assert same.status_code == 409 and "无需重新部署" in same.get_json()["message"]

    client = app.test_client()
    versions = client.get("/definitions/employer_change/versions", headers=center()).get_json()["items"]
    assert [(v["version"], v["deployed_by"]) for v in versions] == [(2, "center01"), (1, "system")]
    old = client.get("/definitions/employer_change/versions/1", headers=center()).get_json()
    assert 'name="中心审核"' in old["bpmn_xml"] and old["end_outcomes"] == {
        "EndEvent_approved": "approved", "EndEvent_rejected": "rejected"}
    assert client.get("/definitions/employer_change/versions/9", headers=center()).status_code == 404
    newest = {d["process_key"]: d["version"] for d in client.get("/definitions", headers=center()).get_json()["items"]}
    assert newest["employer_change"] == 2
    assert client.get("/definitions", headers=employer()).status_code == 403

    [record] = client.get("/audit-records", headers=center()).get_json()["items"]
    assert (record["action"], record["target"], record["detail"]) == ("deploy_process", "employer_change", "改为复核")
    assert record["before"]["version"] == 1 and record["after"]["version"] == 2
    assert record["after"]["checksum"] != record["before"]["checksum"] and record["after"]["note"] == "改为复核"


def test_a_running_instance_finishes_on_its_version_while_new_ones_take_the_newest(app: Flask) -> None:
    submit(app, "1")
    assert deploy(app, PROCESS.replace('name="中心审核"', 'name="中心复核"'), "v2").status_code == 201
    submit(app, "2")
    names = {r["instance"]["business_id"]: r["task"]["name"] for r in tasks(app, center())}
    assert names == {"1": "中心审核", "2": "中心复核"}
    done = complete(app, the_task(app, "1")["task"]["id"], "approve")
    assert done.get_json()["instance"]["outcome"] == "approved"
    path = app.test_client().get(f"/instances/{done.get_json()['instance']['id']}/path", headers=center()).get_json()
    assert path["version"] == 1 and 'name="中心审核"' in path["bpmn_xml"]


def test_the_shipped_file_does_not_replace_what_an_admin_deployed(app: Flask) -> None:
    assert deploy(app, PROCESS.replace('name="中心审核"', 'name="中心复核"'), "admin").status_code == 201
    with app.app_context():
        definitions.deploy_defaults()
        latest = definitions.latest_definition("employer_change")
        assert latest is not None and (latest.version, latest.deployed_by) == (2, "center01")


def test_a_file_changed_only_in_form_is_refused_as_unchanged_and_any_change_of_substance_deploys(
        app: Flask) -> None:
    """What the designer's Modeler does to a file it merely opened: other whitespace, attributes in
    another order, the diagram's shapes moved. None of it is a new version."""
    import re

    reformatted = re.sub(r">\s+<", "><", PROCESS).replace(
        '<bpmn:sequenceFlow id="Flow_to_review" sourceRef="StartEvent_submitted" targetRef="Task_center_review" />',
        '<bpmn:sequenceFlow targetRef="Task_center_review" sourceRef="StartEvent_submitted" id="Flow_to_review"/>')
    reformatted = re.sub(r'x="(\d+)"', lambda m: f'x="{int(m.group(1)) + 40}"', reformatted)
    assert reformatted != PROCESS
    same = deploy(app, reformatted, "只是打开后保存")
    assert same.status_code == 409, same.get_json()
    assert same.get_json()["message"] == "流程与当前版本（第1版）内容相同（仅格式或布局不同），无需重新部署"
    for changed in (PROCESS.replace("approved == True", "approved == True and 1 == 1"),
                    PROCESS.replace('value="handler"', 'value="reviewer"'),
                    PROCESS.replace('name="中心审核"', 'name="中心复核"')):
        assert deploy(app, changed, "改了").status_code == 201
    assert len(definitions_versions(app)) == 4


def test_a_deploy_based_on_an_older_version_is_told_of_the_newer_one(app: Flask) -> None:
    first = post(app, "/definitions/employer_change/deploy", center(),
                 {"bpmn_xml": PROCESS.replace('name="中心审核"', 'name="甲的修改"'), "note": "甲", "base_version": 1})
    assert first.status_code == 201, first.get_json()
    late = post(app, "/definitions/employer_change/deploy", center(),
                {"bpmn_xml": PROCESS.replace('name="中心审核"', 'name="乙的修改"'), "note": "乙", "base_version": 1})
    assert late.status_code == 409
    assert late.get_json()["message"] == "该流程已有新版本（版本2），请重新打开后再部署"
    assert len(definitions_versions(app)) == 2


def definitions_versions(app: Flask) -> list[dict[str, Any]]:
    return list(app.test_client().get("/definitions/employer_change/versions", headers=center()).get_json()["items"])


def test_the_processes_naming_a_group_are_the_newest_versions_and_those_instances_still_run_on(
        app: Flask) -> None:
    def naming(code: str) -> list[tuple[str, int]]:
        response = app.test_client().get(f"/groups/{code}/processes", headers=center())
        assert response.status_code == 200, response.get_json()
        return [(d["process_key"], d["version"]) for d in response.get_json()["items"]]

    assert naming("handler") == [("employer_change", 1)] and naming("chief") == []
    submit(app)  # runs on version 1, its task in group handler
    assert deploy(app, PROCESS.replace('value="handler"', 'value="chief"'), "改由负责人审核").status_code == 201
    assert naming("chief") == [("employer_change", 2)]
    assert naming("handler") == [("employer_change", 1)]  # the running instance still needs it
    assert complete(app, the_task(app)["task"]["id"], "approve").status_code == 200
    assert naming("handler") == []
    assert app.test_client().get("/groups/handler/processes", headers=employer()).status_code == 403
