"""The gateway's own guards, which need no service behind them."""

from __future__ import annotations

import pytest

from gateway import create_app
from hall_common.settings import reset_settings


def test_posts_without_the_csrf_token_are_refused() -> None:
    client = create_app().test_client()
    form = client.post("/logout")
    assert form.status_code == 400
    assert "页面已过期，请刷新页面后重试" in form.get_data(as_text=True)
    script = client.post("/login/challenge", json={"employer_no": "100100001", "login_name": "100100001"})
    assert script.status_code == 400
    assert script.get_json() == {"message": "页面已过期，请刷新页面后重试"}


def test_business_pages_need_a_session() -> None:
    client = create_app().test_client()
    for path in ("/", "/employer/change", "/password", "/inbox/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]
    admin = client.get("/admin/accounts")
    assert admin.status_code == 302
    assert "/admin/login" in admin.headers["Location"]


def test_login_page_points_at_the_configured_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_UKEY_AGENT_URL", "http://127.0.0.1:19999")
    reset_settings()
    page = create_app().test_client().get("/login").get_data(as_text=True)
    assert 'data-agent="http://127.0.0.1:19999"' in page
    assert "UKey密码" in page
