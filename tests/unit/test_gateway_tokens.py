"""The console's 服务令牌 page with the auth service faked: who may open it, the list with each token's
status, withdrawing (confirmed first) and issuing (the token shown once, never stored by the browser)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway import create_app
from hall_common.client import ServiceClient, ServiceError
from hall_common.permissions import ALL_CENTER_PERMISSIONS

TOKENS = [
    {"id": "tok-1", "name": "core-accounting", "permissions": ["push"], "issued_at": "2026-12-01T08:00:00",
     "expires_at": "2027-12-01T08:00:00", "issued_by": "cli", "withdrawn_at": None, "withdrawn_by": None,
     "status": "active"},
    {"id": "tok-2", "name": "old-system", "permissions": ["push"], "issued_at": "2026-11-01T08:00:00",
     "expires_at": "2027-11-01T08:00:00", "issued_by": "center01", "withdrawn_at": "2026-11-20T09:30:00",
     "withdrawn_by": "center01", "status": "withdrawn"},
]


def _center(perms: list[str]) -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["center_session"] = {"token": "t", "principal": {"name": "中心管理员王芳", "perms": perms},
                                     "last_active": time.time()}
    return client


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    asked: list[tuple[str, str, Any]] = []

    def fake(self: ServiceClient, method: str, path: str, params: Any = None, json: Any = None) -> Any:
        asked.append((method, path, json))
        if method == "GET":
            return {"items": TOKENS}
        if path.endswith("/withdraw"):
            return {"message": "服务令牌已撤销：core-accounting", "item": {**TOKENS[0], "status": "withdrawn"}}
        if json["name"] == "bad name":
            raise ServiceError("auth", 422, "请求参数有误",
                               {"json": {"name": ["应为1到50位字母、数字或._-，以字母或数字开头"]}})
        return {"message": "服务令牌已签发，请立即复制保存，关闭后无法再次查看", "token": "eyJ.secret.token",
                "item": {**TOKENS[0], "id": "tok-3", "name": json["name"], "permissions": json["permissions"]}}

    monkeypatch.setattr(ServiceClient, "request", fake)
    return asked


def test_only_an_account_with_the_service_tokens_right_sees_the_page(calls: list[Any]) -> None:
    client = _center([p for p in ALL_CENTER_PERMISSIONS if p != "service_tokens"])
    for method, path in (("GET", "/admin/tokens/"), ("POST", "/admin/tokens/"),
                         ("POST", "/admin/tokens/tok-1/withdraw")):
        response = client.open(path, method=method, data={"name": "x1", "permissions": ["push"], "days": "30"})
        assert response.status_code == 403 and "当前账号无权进行该操作" in response.get_data(as_text=True), path
    assert calls == []
    menu = _center(["audit"]).get("/admin/audit")
    assert 'href="/admin/tokens/"' not in menu.get_data(as_text=True)


def test_the_page_lists_tokens_with_their_status_and_withdraws_after_confirmation(calls: list[Any]) -> None:
    client = _center(["service_tokens"])
    page = client.get("/admin/tokens/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/admin/tokens/"' in text  # the menu link
    for shown in ("core-accounting", "推送消息", "2026-12-01 08:00:00", "2027-12-01 08:00:00", "命令行", "有效",
                  "已撤销（center01 2026-11-20 09:30）"):
        assert shown in text, shown
    # 撤销 only for a live token, behind a confirmation.
    assert text.count(">撤销</button>") == 1
    assert 'data-confirm="确定撤销「core-accounting」的服务令牌？' in text
    done = client.post("/admin/tokens/tok-1/withdraw", data={"name": "core-accounting"}, follow_redirects=True)
    assert "已撤销服务令牌「core-accounting」，各服务将在数秒内拒绝该令牌" in done.get_data(as_text=True)
    assert ("POST", "/service-tokens/tok-1/withdraw", {}) in calls


def test_issuing_shows_the_token_once_and_the_page_is_not_stored(calls: list[Any]) -> None:
    client = _center(["service_tokens"])
    answer = client.post("/admin/tokens/", data={"name": "hr-system", "permissions": ["push", "not-a-right"],
                                                 "days": "90"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert "eyJ.secret.token" in text and "服务令牌已签发，请立即复制保存，关闭后无法再次查看" in text
    assert ("POST", "/service-tokens", {"name": "hr-system", "permissions": ["push"], "days": 90}) in calls
    assert "eyJ.secret.token" not in client.get("/admin/tokens/").get_data(as_text=True)
    refused = client.post("/admin/tokens/", data={"name": "bad name", "permissions": ["push"], "days": "30"})
    assert refused.status_code == 422
    assert "系统名称：应为1到50位字母、数字或._-，以字母或数字开头" in refused.get_data(as_text=True)
    assert 'value="bad name"' in refused.get_data(as_text=True)  # the input stays in the form
