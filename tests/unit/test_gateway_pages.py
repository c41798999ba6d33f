"""The gateway's money filter, error pages, favicon, the login's return address and 大字模式, with no
service behind them (service calls are replaced where a page needs one)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway import create_app
from gateway.filters import money
from hall_common.client import ServiceClient


@pytest.mark.parametrize(("value", "shown"), [
    ("1234567.89", "1,234,567.89"),
    (Decimal("1234567.885"), "1,234,567.89"),  # HALF_UP to the cent
    ("1234567.884", "1,234,567.88"),
    ("0", "0.00"),
    ("999.5", "999.50"),
    ("-1234.5", "-1,234.50"),
    ("12345678901234567890.01", "12,345,678,901,234,567,890.01"),  # exact far beyond a float's digits
    (1000, "1,000.00"),
    (None, ""),
    ("", ""),
    ("不详", "不详"),
])
def test_money_shows_thousands_separators_exactly(value: Any, shown: str) -> None:
    assert money(value) == shown


def employer_client() -> FlaskClient:
    client = create_app().test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": "t", "last_active": time.time(), "sound_enabled": True, "large_text": False,
            "principal": {"name": "王晓燕", "emp": "100100001", "emp_name": "太原市示例科技有限公司",
                          "sub": "100100001", "perms": ["employer_info", "employer_change"]}}
    return client


def center_client() -> FlaskClient:
    client = create_app().test_client()
    with client.session_transaction() as session:
        session["center_session"] = {"token": "t", "last_active": time.time(),
                                     "principal": {"name": "中心审核员李明", "perms": ["approve"]}}
    return client


def test_an_unknown_address_answers_in_chinese_in_the_employer_hall() -> None:
    response = create_app().test_client().get("/no/such/page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "页面不存在，请检查地址是否正确" in page
    assert "Not Found" not in page
    assert "单位网上服务大厅" in page and "管理控制台" not in page


def test_an_unknown_admin_address_answers_in_the_admin_console() -> None:
    for client in (create_app().test_client(), center_client()):
        response = client.get("/admin/no-such-page")
        page = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "页面不存在，请检查地址是否正确" in page
        assert "住房公积金中心 管理控制台" in page and "单位网上服务大厅</div>" not in page
    # Logged in: the console's own menu frames it, and 返回 leads to the console.
    page = center_client().get("/admin/no-such-page").get_data(as_text=True)
    assert "审批任务" in page and 'href="/admin/"' in page


def test_a_wrong_method_and_a_script_are_answered_in_chinese() -> None:
    client = create_app().test_client()
    assert "不支持该操作方式" in client.put("/login").get_data(as_text=True)
    response = client.get("/no/such/page", headers={"Content-Type": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {"message": "页面不存在，请检查地址是否正确"}


def test_the_favicon_is_served_not_a_404() -> None:
    response = create_app().test_client().get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data


def test_the_login_keeps_the_query_string_of_next(monkeypatch: pytest.MonkeyPatch) -> None:
    client = create_app().test_client()
    asked = client.get("/admin/?tab=mine&page=3")
    assert asked.status_code == 302
    location = asked.headers["Location"]
    assert location == "/admin/login?next=/admin/?tab%3Dmine%26page%3D3"

    def fake_post(self: ServiceClient, path: str, body: Any = None) -> Any:
        assert path == "/auth/center-login"
        return {"token": "t", "principal": {"name": "中心审核员李明", "perms": []}}

    monkeypatch.setattr(ServiceClient, "post", fake_post)
    app = create_app({"WTF_CSRF_ENABLED": False})
    logged_in = app.test_client().post(location, data={"login_name": "center01", "password": "x"})
    assert logged_in.status_code == 302
    assert logged_in.headers["Location"] == "/admin/?tab=mine&page=3"
    # Only a path on this site: another site's address is not followed.
    elsewhere = app.test_client().post("/admin/login?next=//evil.example/", data={"login_name": "c", "password": "x"})
    assert elsewhere.headers["Location"] == "/admin/"


def test_large_text_switch_is_kept_at_the_auth_service_and_scales_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    posted: list[tuple[str, Any]] = []

    def fake_post(self: ServiceClient, path: str, body: Any = None) -> Any:
        posted.append((path, body))
        return {"large_text": body["large_text"]}

    monkeypatch.setattr(ServiceClient, "post", fake_post)
    monkeypatch.setattr(ServiceClient, "get", lambda self, path, **params: (_ for _ in ()).throw(AssertionError))
    app = create_app({"WTF_CSRF_ENABLED": False})
    client = app.test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {"token": "t", "last_active": time.time(), "expires_at": time.time() + 600,
                                       "principal": {"name": "王晓燕", "emp_name": "示例", "perms": []}}
    switched = client.post("/large-text", data={"area": "employer"},
                           headers={"Referer": "http://localhost/password?x=1"})
    assert posted == [("/auth/large-text", {"large_text": True})]
    assert switched.headers["Location"] == "/password?x=1"
    page = client.get("/password").get_data(as_text=True)
    assert '<html lang="zh-CN" class="large-text">' in page
    assert "已开启大字模式" in page and "关闭大字模式" in page
    client.post("/large-text", data={"area": "employer"}, headers={"Referer": "http://evil.example/x"})
    assert posted[-1] == ("/auth/large-text", {"large_text": False})
    assert '<html lang="zh-CN">' in client.get("/password").get_data(as_text=True)


def test_the_employer_name_opens_the_read_only_basic_information(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_get(self: ServiceClient, path: str, **params: object) -> object:
        if self.service == "payment":
            return {"employer_no": "100100001", "balance": "1234567.89", "unallocated": "0.5", "member_accounts": 12,
                    "last_remittance_month": "2026-11"}
        if self.service == "member":
            return [{"status": "01", "status_name": "正常", "count": 10},
                    {"status": "02", "status_name": "封存", "count": 2}]
        return {"employer_no": "100100001", "name": "太原市示例科技有限公司", "pending_request_id": None,
                "fields": [{"name": "address", "label": "单位地址", "value": "长治路100号", "editable": True,
                            "max_length": 200}]}

    monkeypatch.setattr(ServiceClient, "get", fake_get)
    client = employer_client()
    page = client.get("/password").get_data(as_text=True)
    assert 'href="/employer/info" class="employer-name"' in page
    info = client.get("/employer/info").get_data(as_text=True)
    assert "<h1 id=\"info-title\">单位基本信息</h1>" in info
    assert "1,234,567.89 元" in info and "0.50 元" in info
    assert '<dd id="account-last-remittance">2026-11</dd>' in info and '<dd id="account-headcount">12</dd>' in info
    assert '<tr data-status="02"><td>封存</td><td>2</td></tr>' in info
    assert "长治路100号" in info and "<input" not in info.split("<main", 1)[1].split("</main>")[0].replace(
        'type="hidden"', "")
