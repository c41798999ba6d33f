"""Hostile input to the approval engine: code in a definition, DTDs and entities, broken conditions,
bad monitor filters. Every refusal is a Chinese 4xx; nothing runs, nothing is stored half-way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from hall_common import db
from services.workflow import definitions, engine

from .conftest import bpmn, center, complete, employer, post, submit, the_task

GOOD = bpmn("employer_change.bpmn")
CONDITION = "approved == True"
BODY = GOOD.split("?>", 1)[1]


def deploy(app: Flask, xml: str) -> tuple[int, str, str]:
    response = post(app, "/definitions/employer_change/deploy", center(), {"bpmn_xml": xml, "note": "试"})
    body = response.get_json()
    return response.status_code, body.get("message", ""), (body.get("errors") or {}).get("element", "")


def versions(app: Flask) -> int:
    return len(app.test_client().get("/definitions/employer_change/versions", headers=center()).get_json()["items"])


SCRIPT_TASK = GOOD.replace(
    '<bpmn:sequenceFlow id="Flow_to_review" sourceRef="StartEvent_submitted" targetRef="Task_center_review" />',
    '<bpmn:scriptTask id="Task_script" name="计算" scriptFormat="python"><bpmn:incoming>Flow_a</bpmn:incoming>'
    '<bpmn:outgoing>Flow_b</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
    '<bpmn:sequenceFlow id="Flow_a" sourceRef="StartEvent_submitted" targetRef="Task_script" />'
    '<bpmn:sequenceFlow id="Flow_b" sourceRef="Task_script" targetRef="Task_center_review" />',
).replace('<bpmn:outgoing>Flow_to_review</bpmn:outgoing>', '<bpmn:outgoing>Flow_a</bpmn:outgoing>').replace(
    '<bpmn:incoming>Flow_to_review</bpmn:incoming>', '<bpmn:incoming>Flow_b</bpmn:incoming>')


@pytest.mark.parametrize("code", [
    "__import__('os').system('touch {marker}') == 0",
    "().__class__.__base__.__subclasses__() == []",
    "open('{marker}', 'w') is None",
    "[x for x in (1,)] == [1]",
    "(lambda: 1)() == 1",
])
def test_a_condition_that_would_run_python_is_refused_naming_its_flow(app: Flask, tmp_path: Path,
                                                                      code: str) -> None:
    marker = tmp_path / "pwned"
    status, message, element = deploy(app, GOOD.replace(CONDITION, code.format(marker=marker)))
    assert (status, element) == (422, "Flow_approved"), message
    assert message.startswith("元素「通过」(Flow_approved) 的条件不允许："), message
    assert versions(app) == 1 and not marker.exists()


@pytest.mark.parametrize("script", ["import os", "x = open('/etc/passwd')", "a.b = 1", "del x", "x = y.__dict__"])
def test_a_script_task_may_only_assign_plain_values(app: Flask, script: str) -> None:
    status, message, element = deploy(app, SCRIPT_TASK.replace("{script}", script))
    assert (status, element) == (422, "Task_script"), message
    assert "的脚本不允许" in message
    allowed = deploy(app, SCRIPT_TASK.replace("{script}", "limit = max(50, 10) if True else 0"))
    assert allowed[0] == 201, allowed


def test_code_that_slipped_past_the_deploy_check_never_runs(app: Flask, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A definition stored before the check existed: the sandbox refuses at run time, the task stays open."""
    marker = tmp_path / "pwned"
    monkeypatch.setattr(engine, "_check_code", lambda process: None)
    with app.app_context():
        unsafe = GOOD.replace(CONDITION, f"__import__('os').system('touch {marker}') == 0")
        definitions.install("employer_change", unsafe)
        db.session().commit()
    monkeypatch.undo()
    submit(app)
    task = the_task(app)["task"]
    refused = complete(app, task["id"], "approve")
    assert refused.status_code == 422 and not marker.exists()
    assert refused.get_json()["message"].startswith("流程定义有误，无法继续办理："), refused.get_json()
    assert the_task(app)["task"]["status"] == "open"


def test_a_condition_on_missing_data_refuses_in_chinese_and_keeps_the_task(app: Flask) -> None:
    assert deploy(app, GOOD.replace(CONDITION, "nosuchvar == 1"))[0] == 201
    submit(app)
    task = the_task(app)["task"]
    refused = complete(app, task["id"], "approve")
    assert refused.status_code == 422
    assert "流程数据中没有变量 nosuchvar" in refused.get_json()["message"]
    assert the_task(app)["task"]["status"] == "open" and the_task(app)["task"]["decision"] is None


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                  + BODY.replace('name="中心审核"', 'name="&lol2;"'))
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            + BODY.replace('name="中心审核"', 'name="&e;"'))
PARAMETER = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]>' + BODY
DTD_ONLY = '<?xml version="1.0"?><!DOCTYPE bpmn:definitions>' + BODY


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL, PARAMETER, DTD_ONLY])
def test_doctypes_and_entities_are_refused_in_chinese_never_expanded(app: Flask, xml: str) -> None:
    response = post(app, "/definitions/employer_change/validate", center(), {"bpmn_xml": xml})
    assert (response.status_code, response.get_json()["message"]) == (
        422, "流程文件无法解析：不允许使用 DOCTYPE 或实体声明（ENTITY）")


@pytest.mark.parametrize(("xml", "message"), [
    ("hello", "流程文件无法解析：不是有效的 XML（第1行第1列附近）"),
    (GOOD.replace("</bpmn:definitions>", ""), "流程文件无法解析：不是有效的 XML"),
    ('<?xml version="1.0" encoding="UTF-16"?>' + BODY, "流程文件只接受 UTF-8 编码（文件声明为 UTF-16）"),
    ('<?xml version="1.0" encoding="GBK"?>' + BODY, "流程文件只接受 UTF-8 编码（文件声明为 GBK）"),
])
def test_a_file_that_is_no_xml_is_refused_in_chinese(app: Flask, xml: str, message: str) -> None:
    response = post(app, "/definitions/employer_change/validate", center(), {"bpmn_xml": xml})
    assert response.status_code == 422 and response.get_json()["message"].startswith(message), response.get_json()


def test_a_lone_surrogate_no_utf8_can_carry_is_refused_in_chinese(app: Flask) -> None:
    body = json.dumps({"bpmn_xml": GOOD.replace("中心审核", "中心\ud800审核")})  # sent as the escape \\ud800
    response = app.test_client().post("/definitions/employer_change/validate", data=body,
                                      content_type="application/json", headers=center())
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "含有无效字符" in response.get_json()["message"]


@pytest.mark.parametrize(("xml", "status"), [
    (GOOD.replace("</bpmn:definitions>", "<!--" + "审" * 1_000_000 + "--></bpmn:definitions>"), 422),
    (GOOD.replace("中心审核", "中心\x00审核"), 422),
    (GOOD.replace("中心审核", "中心\ud800审核"), 422),
])
def test_oversized_or_control_characters_in_a_file_are_refused(app: Flask, xml: str, status: int) -> None:
    response = app.test_client().post(
        "/definitions/employer_change/deploy", headers={**center(), "Content-Type": "application/json"},
        data='{"bpmn_xml": "' + xml.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        .replace("\x00", "\\u0000").replace("\ud800", "\\ud800") + '"}')
    message = response.get_json()["message"]
    assert response.status_code == status and any("\u4e00" <= c <= "\u9fff" for c in message), message
    assert versions(app) == 1


@pytest.mark.parametrize(("query", "message"), [
    ("date_from=2026-13-01", "应为有效日期（YYYY-MM-DD）"),
    ("date_from=2026-05-02&date_to=2026-05-01", "开始日期不能晚于结束日期"),
    ("employer_no=" + "1" * 21, "单位编号不超过20位"),
    ("business_type=" + "x" * 51, "业务类型不正确"),
    ("page=99999999999999999999", "数值过大"),
    ("per_page=201", "每页条数应为1到200之间的整数"),
])
def test_bad_monitor_filters_are_refused_in_chinese(app: Flask, query: str, message: str) -> None:
    response = app.test_client().get(f"/instances?{query}", headers=center())
    assert response.status_code == 422 and message in response.get_json()["message"], response.get_json()


def test_the_widest_date_range_is_a_filter_not_a_crash(app: Flask) -> None:
    submit(app)
    response = app.test_client().get("/instances?date_from=0001-01-01&date_to=9999-12-31", headers=center())
    assert response.status_code == 200 and response.get_json()["total"] == 1


def test_a_blank_filter_form_filters_nothing(app: Flask) -> None:
    submit(app)
    blank = app.test_client().get("/instances?business_type=&status=&employer_no=&date_from=&date_to=&page=",
                                  headers=center())
    assert blank.status_code == 200 and blank.get_json()["total"] == 1, blank.get_json()
    tasks = app.test_client().get("/tasks?status=&scope=&business_type=", headers=center())
    assert tasks.status_code == 200 and len(tasks.get_json()["items"]) == 1, tasks.get_json()


@pytest.mark.parametrize("query", ["status=x", "scope=x", "business_type=" + "x" * 51, "page=99999999999999999999",
                                   "per_page=100000"])
def test_bad_task_filters_are_refused_in_chinese(app: Flask, query: str) -> None:
    response = app.test_client().get(f"/tasks?{query}", headers=center())
    assert response.status_code == 422
    assert any("\u4e00" <= c <= "\u9fff" for c in response.get_json()["message"]), response.get_json()


def test_long_opinions_reasons_and_names_are_refused_in_chinese(app: Flask) -> None:
    submit(app)
    row = the_task(app)
    task, instance = row["task"]["id"], row["instance"]["id"]
    checks = [
        (f"/tasks/{task}/complete", {"decision": "reject", "opinion": "意" * 501}, "审批意见不能超过500个字"),
        (f"/tasks/{task}/reassign", {"login_name": "u", "display_name": "名" * 51}, "转办人姓名不能超过50个字"),
        (f"/instances/{instance}/terminate", {"reason": "因" * 501}, "请填写终止原因（不超过500个字）"),
    ]
    for url, body, message in checks:
        response = post(app, url, center(), body)
        assert (response.status_code, response.get_json()["message"]) == (422, message), url
    for bad, message in (("\\u0000", "不能包含控制字符"), ("\\ud800", "含有无效字符")):
        for url, headers, field in ((f"/tasks/{task}/complete", center(), "opinion"),
                                    (f"/instances/{instance}/terminate", center(), "reason"),
                                    (f"/instances/{instance}/end", employer(), "reason")):
            raw = '{"decision": "reject", "' + field + '": "a' + bad + 'b"}'
            response = app.test_client().post(url, data=raw, headers={**headers, "Content-Type": "application/json"})
            assert response.status_code == 422 and message in response.get_json()["message"], (url, bad)
    assert the_task(app)["task"]["status"] == "open"
