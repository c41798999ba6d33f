"""The gateway's approval pages against scripted service answers: what they ask the services, and what a
user sees when a service refuses (the designer's element at fault, a returned change kept for editing)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway import create_app
from hall_common.client import ServiceClient, ServiceError
from hall_common.permissions import ALL_CENTER_PERMISSIONS

Answer = Callable[[str, str, Any], Any]


def _client(monkeypatch: pytest.MonkeyPatch, answer: Answer, calls: list[tuple[str, str, str, Any]]) -> FlaskClient:
    def fake_request(self: ServiceClient, method: str, path: str, **kwargs: Any) -> Any:
        body = kwargs.get("json", kwargs.get("params"))
        calls.append((self.service, method, path, body))
        return answer(method, path, body)

    monkeypatch.setattr(ServiceClient, "request", fake_request)
    app = create_app({"WTF_CSRF_ENABLED": False})
    return app.test_client()


def _center(client: FlaskClient, perms: list[str]) -> None:
    with client.session_transaction() as session:
        session["center_session"] = {"token": "t", "principal": {"sub": "center01", "name": "李明", "perms": perms},
                                     "last_active": time.time()}


def _employer(client: FlaskClient) -> None:
    with client.session_transaction() as session:
        session["employer_session"] = {"token": "t", "principal": {"sub": "100100001", "name": "王晓燕",
                                       "emp": "100100001", "perms": ["employer_change"]}, "last_active": time.time()}


def test_a_refused_deploy_answers_the_message_and_the_element_at_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str, Any]] = []

    def answer(method: str, path: str, body: Any) -> Any:
        raise ServiceError("workflow", 422, "任务「复核」(Task_1) 的候选组 xyz 未定义",
                           {"json": {"bpmn_xml": ["..."]}, "element": "Task_1"})

    client = _client(monkeypatch, answer, calls)
    _center(client, ALL_CENTER_PERMISSIONS)
    missing_note = client.post("/admin/definitions/member_seal/deploy", json={"bpmn_xml": "<x/>", "note": " "})
    assert missing_note.status_code == 422
    assert missing_note.get_json()["message"] == "请填写部署说明"
    assert calls == []  # refused before the workflow service is asked
    refused = client.post("/admin/definitions/member_seal/deploy", json={"bpmn_xml": "<x/>", "note": "加复核"})
    assert refused.status_code == 422
    assert refused.get_json() == {"message": "任务「复核」(Task_1) 的候选组 xyz 未定义", "element": "Task_1"}
    assert calls == [("workflow", "POST", "/definitions/member_seal/deploy", {"bpmn_xml": "<x/>", "note": "加复核"})]


def test_a_deploy_passes_on_the_version_the_page_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str, Any]] = []

    def answer(method: str, path: str, body: Any) -> Any:
        raise ServiceError("workflow", 409, "该流程已有新版本（版本3），请重新打开后再部署")

    client = _client(monkeypatch, answer, calls)
    _center(client, ALL_CENTER_PERMISSIONS)
    for bad in ("2", True, 2.5):
        refused = client.post("/admin/definitions/member_seal/deploy",
                              json={"bpmn_xml": "<x/>", "note": "n", "base_version": bad})
        assert (refused.status_code, refused.get_json()["message"]) == (422, "基础版本号无效，请刷新页面")
    assert calls == []
    stale = client.post("/admin/definitions/member_seal/deploy",
                        json={"bpmn_xml": "<x/>", "note": "n", "base_version": 2})
    assert stale.status_code == 409
    assert stale.get_json() == {"message": "该流程已有新版本（版本3），请重新打开后再部署", "element": ""}
    assert calls == [("workflow", "POST", "/definitions/member_seal/deploy",
                      {"bpmn_xml": "<x/>", "note": "n", "base_version": 2})]


def test_the_designer_is_for_center_admins_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str, Any]] = []
    client = _client(monkeypatch, lambda *a: {"items": []}, calls)
    _center(client, [])
    for response in (client.get("/admin/definitions/"),
                     client.post("/admin/definitions/member_seal/deploy", json={"bpmn_xml": "<x/>", "note": "n"}),
                     client.post("/admin/instances/3/terminate", data={"reason": "错误提交"})):
        assert response.status_code == 403
    assert not [c for c in calls if c[1] == "POST"]


def test_terminate_needs_a_reason_before_the_service_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str, Any]] = []
    client = _client(monkeypatch, lambda *a: {}, calls)
    _center(client, ALL_CENTER_PERMISSIONS)
    response = client.post("/admin/instances/3/terminate", data={"reason": "  "})
    assert response.status_code == 302
    assert calls == []
    with client.session_transaction() as session:
        assert ("error", "请填写终止原因") in session["_flashes"]


@pytest.mark.parametrize(("tab", "status", "scope"), [("claim", "open", "group"), ("mine", "open", "mine"),
                                                      ("done", "completed", "mine")])
def test_the_inbox_tabs_ask_for_their_tasks(monkeypatch: pytest.MonkeyPatch, tab: str, status: str, scope: str) -> None:
    calls: list[tuple[str, str, str, Any]] = []
    client = _client(monkeypatch, lambda *a: {"items": [], "total": 0, "page": 1}, calls)
    _center(client, [])
    page = client.get(f"/admin/?tab={tab}").get_data(as_text=True)
    assert calls[0][2] == "/tasks" and calls[0][3]["status"] == status and calls[0][3]["scope"] == scope
    assert "待认领" in page and "我的任务" in page and "已办" in page


PROFILE = {"fields": [{"name": "address", "label": "单位地址", "value": "旧地址", "editable": True},
                      {"name": "name", "label": "单位名称", "value": "示例公司", "editable": False}]}
RETURNED = {"id": 7, "status": "returned", "status_name": "已退回", "opinion": "地址不完整", "approver": "李明",
            "instance_id": 31, "operator": "王晓燕", "submitted_at": "2026-11-28T08:00:00Z",
            "changes": [{"field": "address", "label": "单位地址", "old": "旧地址", "new": "府西街"}]}
PATH = {"instance": {"id": 31, "status": "returned"}, "version": 1, "bpmn_xml": "<x/>", "completed": [],
        "taken_flows": ["Flow_1"], "current": [], "can_end": True,
        "steps": [{"node": "Task_review", "name": "经办审核", "handler": "李明", "decision": "return",
                   "opinion": "地址不完整", "started_at": "2026-11-28T08:00:00Z", "ended_at": "2026-11-28T08:05:00Z"}]}


def _returned_answer(method: str, path: str, body: Any) -> Any:
    if path == "/employers/100100001":
        return PROFILE
    if path.endswith("/change-requests/current"):
        return {"request": RETURNED}
    if path == "/instances/31/path":
        return PATH
    if path == "/businesses/employer_change/7/instance":
        return {"id": 31}
    if method == "PUT":
        return {"message": "已提交至中心审核"}
    return {}


def test_a_returned_change_opens_with_its_data_and_the_opinion(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str, Any]] = []
    client = _client(monkeypatch, _returned_answer, calls)
    _employer(client)
    page = client.get("/employer/change").get_data(as_text=True)
    assert 'value="府西街"' in page and 'data-original="旧地址"' in page  # kept, not retyped
    assert "地址不完整" in page and "重新提交" in page and "结束流程" in page
    assert "<td>退回</td>" in page  # the steps table

    client.post("/employer/change", data={"address": "府西街9号"})
    assert ("employer", "PUT", "/employers/100100001/change-requests/7",
            {"changes": [{"field": "address", "value": "府西街9号"}]}) in calls

    client.post("/employer/change/7/end", data={"reason": ""})
    assert ("workflow", "POST", "/instances/31/end", {"reason": "单位结束流程"}) in calls
