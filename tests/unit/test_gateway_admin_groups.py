"""The admin console's 用户组 and 审计日志 pages, with the services faked: who may open them, and the
audit records of two services merged newest first (the workflow's may not exist yet)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway import create_app
from hall_common.client import ServiceClient, ServiceError
from hall_common.permissions import ALL_CENTER_PERMISSIONS


def _center(perms: list[str]) -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["center_session"] = {"token": "t", "principal": {"name": "中心复核员张华", "perms": perms},
                                     "last_active": time.time()}
    return client


def _record(id_: int, at: str, action: str, target: str) -> dict[str, Any]:
    return {"id": id_, "actor": "center01", "action": action, "target": target, "detail": "", "before": None,
            "after": {"code": target}, "at": at}


def test_a_center_user_without_the_page_permission_gets_the_chinese_403_page(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    monkeypatch.setattr(ServiceClient, "request", lambda self, method, path, **kwargs: asked.append(path))
    client = _center(["approve"])
    for path in ("/admin/groups", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "当前账号无权进行该操作" in response.get_data(as_text=True)
    for path in ("/admin/groups", "/admin/groups/handler/members", "/admin/groups/handler/delete"):
        refused = client.post(path, data={"code": "x1", "name": "稽核", "members": ["center02"]})
        assert refused.status_code == 403, path
    assert asked == []  # no service was asked on the user's behalf


def test_the_audit_page_merges_both_services_newest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = [_record(2, "2026-11-28T10:05:00+00:00", "group_members", "reviewer"),
            _record(1, "2026-11-28T10:01:00+00:00", "group_create", "audit_team")]
    workflow = [_record(7, "2026-11-28T10:03:00+00:00", "deploy_process", "member_seal")]

    def fake_get(self: ServiceClient, path: str, **params: Any) -> Any:
        assert path == "/audit-records"
        items = auth if self.service == "auth" else workflow
        return {"items": items, "total": len(items)}

    monkeypatch.setattr(ServiceClient, "get", fake_get)
    page = _center(ALL_CENTER_PERMISSIONS).get("/admin/audit").get_data(as_text=True)
    order = [page.index(text) for text in ("设置用户组成员", "部署流程", "新建用户组")]
    assert order == sorted(order)
    assert "流程服务" in page and "认证服务" in page
    assert "暂未提供审计日志" not in page
    assert "{&#34;code&#34;: &#34;reviewer&#34;}" in page  # the state after, as recorded


def test_the_audit_page_shows_auth_records_and_a_note_while_workflow_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_get(self: ServiceClient, path: str, **params: Any) -> Any:
        if self.service == "workflow":
            raise ServiceError("workflow", 404, "记录不存在")
        return {"items": [_record(1, "2026-11-28T10:01:00+00:00", "group_create", "audit_team")], "total": 1}

    monkeypatch.setattr(ServiceClient, "get", fake_get)
    response = _center(ALL_CENTER_PERMISSIONS).get("/admin/audit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "新建用户组" in page and "audit_team" in page
    assert "流程服务暂未提供审计日志，以下仅显示其他服务的记录" in page


def test_the_check_names_each_services_verdict_and_a_service_away(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts = {"auth": {"ok": True, "message": "校验通过（共12条）"},
                "member": {"ok": False, "message": "第3条记录被篡改"}}

    def fake_get(self: ServiceClient, path: str, **params: Any) -> Any:
        if path == "/audit-records":
            return {"items": [], "total": 0}
        assert path == "/audit-records/verify"
        if self.service not in verdicts:
            raise ServiceError(self.service, 503, "服务暂不可用")
        return verdicts[self.service]

    monkeypatch.setattr(ServiceClient, "get", fake_get)
    page = _center(ALL_CENTER_PERMISSIONS).get("/admin/audit/verify").get_data(as_text=True)
    assert 'data-service="auth">认证服务：校验通过（共12条）' in page
    assert 'data-service="member">缴存人服务：第3条记录被篡改' in page
    assert 'data-service="workflow">流程服务：暂不可用，未能校验' in page
    assert page.count("alert-error") == 2
    plain = _center(ALL_CENTER_PERMISSIONS).get("/admin/audit").get_data(as_text=True)
    assert 'id="audit-checks"' not in plain  # the page without 校验 shows no verdicts


def test_the_export_passes_one_services_chain_on_and_refuses_another_name(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str]] = []

    class Upstream:
        headers = {"Content-Type": "application/x-ndjson",
                   "Content-Disposition": "attachment; filename*=UTF-8''audit-auth.jsonl"}

        def stream(self, size: int, decode_content: bool) -> Any:
            yield b'{"format": "hall-audit-chain/1"}\n'

        def release_conn(self) -> None:
            pass

    def fake_stream(self: ServiceClient, method: str, path: str, **kwargs: Any) -> Any:
        asked.append((self.service, path))
        return Upstream()

    monkeypatch.setattr(ServiceClient, "stream", fake_stream)
    client = _center(ALL_CENTER_PERMISSIONS)
    exported = client.get("/admin/audit/export?service=auth")
    assert exported.status_code == 200 and exported.mimetype == "application/x-ndjson"
    assert exported.get_data() == b'{"format": "hall-audit-chain/1"}\n'
    assert asked == [("auth", "/audit-records/export")]
    refused = client.get("/admin/audit/export?service=payment")
    assert refused.status_code == 302 and asked == [("auth", "/audit-records/export")]
