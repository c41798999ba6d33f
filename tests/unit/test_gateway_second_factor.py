"""The console's login through its second factor (gateway/admin.py), with the auth service faked: the
password stage leads to the code page (the enrolment page with the QR code drawn here for an account
without a secret), the session starts only with the code and goes back to the page that asked; a spent
or expired ticket starts the login again; without a password stage the code page is the login."""

from __future__ import annotations

from typing import Any

import pytest

from gateway import create_app
from hall_common.client import ServiceClient, ServiceError

URI = "otpauth://totp/%E4%BD%8F%E6%88%BF:center01?secret=JBSWY3DPEHPK3PXP&issuer=%E4%BD%8F%E6%88%BF"


def _fake(monkeypatch: pytest.MonkeyPatch, stage: str, code_answer: Any) -> list[tuple[str, Any]]:
    posted: list[tuple[str, Any]] = []

    def fake_post(self: ServiceClient, path: str, body: Any = None) -> Any:
        posted.append((path, body))
        if path == "/auth/center-login":
            return {"stage": stage, "ticket": "T1", "message": "请输入动态口令"}
        if path == "/auth/center-totp/enrolment":
            return {"secret": "JBSWY3DPEHPK3PXP", "otpauth_uri": URI, "login_name": "center01", "issuer": "住房"}
        if isinstance(code_answer, Exception):
            raise code_answer
        return code_answer

    monkeypatch.setattr(ServiceClient, "post", fake_post)
    return posted


def test_the_console_opens_only_after_the_code_and_returns_to_the_page_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    posted = _fake(monkeypatch, "totp_enrol", {"token": "t", "principal": {"name": "李明", "perms": []}})
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    password = client.post("/admin/login?next=/admin/?tab%3Dmine", data={"login_name": "center01", "password": "x"})
    assert password.headers["Location"] == "/admin/login/factor"
    assert client.get("/admin/").status_code == 302  # no session yet
    shown = client.get("/admin/login/factor")
    assert shown.headers["Cache-Control"] == "no-store"
    page = shown.get_data(as_text=True)
    assert "绑定动态口令" in page and "JBSWY3DPEHPK3PXP" in page
    assert '<svg role="img" aria-label="动态口令绑定二维码"' in page and "<path" in page  # drawn here, no image fetched
    done = client.post("/admin/login/factor", data={"code": "123456"})
    assert ("/auth/center-totp", {"ticket": "T1", "code": "123456"}) in posted
    assert done.headers["Location"] == "/admin/?tab=mine"
    assert client.get("/admin/login/factor").headers["Location"] == "/admin/login"  # the stage is over


def test_a_wrong_code_stays_and_a_spent_ticket_starts_the_login_again(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, "totp", ServiceError("auth", 401, "动态口令错误，还可尝试3次"))
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    client.post("/admin/login", data={"login_name": "center01", "password": "x"})
    page = client.get("/admin/login/factor").get_data(as_text=True)
    assert "动态口令验证" in page and "绑定动态口令" not in page
    wrong = client.post("/admin/login/factor", data={"code": "000000"})
    assert wrong.status_code == 200 and "动态口令错误，还可尝试3次" in wrong.get_data(as_text=True)
    _fake(monkeypatch, "totp", ServiceError("auth", 401, "该登录步骤已完成或已超时，请重新登录"))
    gone = client.post("/admin/login/factor", data={"code": "000000"})
    assert gone.headers["Location"] == "/admin/login"
    assert client.get("/admin/login/factor").headers["Location"] == "/admin/login"
