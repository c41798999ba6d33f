"""Refresh token rotation in a real browser: the page's renewals rotate the token kept in the browser's
own ``hall_refresh`` cookie, the operator stays signed in throughout, and a copy of that cookie taken
before two renewals, put back, ends the session with the reason on the login page."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, BrowserContext, expect

from deploy.stack import Stack
from gateway.refresh import COOKIE
from gateway.session import EMPLOYER_KEY
from services.auth.sessions import REFRESH_REUSED

from .login_support import login_employer


def _serializer(stack: Stack) -> Any:
    app = Flask("cookie")
    app.secret_key = (stack.var_dir / "gateway_secret").read_text().strip()
    return app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]


def _cookie(context: BrowserContext, name: str) -> dict[str, Any]:
    [found] = [c for c in context.cookies() if c["name"] == name]
    return dict(found)


def _due_for_renewal(context: BrowserContext, stack: Stack) -> None:
    """The access token in the browser's session cookie said to expire now, as five minutes later."""
    serializer = _serializer(stack)
    session = _cookie(context, "session")
    value = serializer.loads(session["value"])
    value[EMPLOYER_KEY]["expires_at"] = 0
    context.add_cookies([{**session, "value": serializer.dumps(value)}])  # type: ignore[list-item]


def test_renewals_rotate_the_browsers_refresh_cookie_and_an_old_copy_put_back_ends_the_session(
        browser: Browser, stack: Stack) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    login_employer(page, stack)
    kept = _cookie(context, COOKIE)  # what someone copies from this browser
    seen = [kept["value"]]
    for _ in range(2):
        _due_for_renewal(context, stack)
        page.goto(stack.url("gateway") + "/employer/info")
        expect(page.get_by_role("heading", name="单位基本信息")).to_be_visible()
        seen.append(_cookie(context, COOKIE)["value"])
    assert len(set(seen)) == 3, "each renewal sets a new refresh token"
    context.add_cookies([kept])  # type: ignore[list-item]
    _due_for_renewal(context, stack)
    page.goto(stack.url("gateway") + "/employer/info")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_text(REFRESH_REUSED)).to_be_visible()
    context.close()
