"""Refresh token rotation through the real gateway and auth service: a renewal sets the next refresh
token in its own cookie (gateway/refresh.py); a browser cookie copied before two renewals, replayed,
is a stolen copy: the auth service ends the session (audited), the thief is sent to the login page, and
so is the owner at the next page."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from flask import Flask

from deploy import demo_data as demo
from deploy.stack import Stack
from gateway.refresh import COOKIE
from gateway.session import EMPLOYER_KEY

from .helpers import Api, center_api, employer_api, wait_for

pytestmark = pytest.mark.integration


def _session_cookie(stack: Stack, api: Api, **extra: Any) -> str:
    """The gateway's session cookie of this signed-in operator, its access token due for renewal."""
    app = Flask("cookie")
    app.secret_key = (stack.var_dir / "gateway_secret").read_text().strip()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    principal = {"sub": demo.EMPLOYER_NO, "role": "employer", "name": "经办人", "emp": demo.EMPLOYER_NO, "perms": []}
    value = {EMPLOYER_KEY: {"token": api.token, "expires_at": 0, "principal": principal, "sound_enabled": True,
                            "last_active": time.time(), "started_at": time.time(), "live_id": "", **extra}}
    return f"session={serializer.dumps(value)}"


def _home(stack: Stack, *cookies: str) -> httpx.Response:
    return httpx.get(stack.url("gateway") + "/", headers={"Cookie": "; ".join(cookies)}, timeout=10)


def _refresh_cookie(answer: httpx.Response) -> str:
    value = answer.cookies.get(COOKIE)
    assert value, f"no {COOKIE} set: {answer.headers.get_list('set-cookie')}"
    return f"{COOKIE}={value}"


def test_a_browser_cookie_replayed_after_two_renewals_ends_the_session_for_thief_and_owner(stack: Stack) -> None:
    api = employer_api(stack)
    stolen = _session_cookie(stack, api, refresh_token=api.refresh_token)  # as a cookie from before rotation
    first = _home(stack, stolen)
    assert first.status_code == 200
    second_token = _refresh_cookie(first)
    renewed = _home(stack, _session_cookie(stack, api), second_token)
    assert renewed.status_code == 200
    owner = [_session_cookie(stack, api), _refresh_cookie(renewed)]
    assert owner[1] != second_token  # rotated again
    thief = _home(stack, stolen)
    assert thief.status_code == 302 and "/login" in thief.headers["Location"]
    ended = wait_for(lambda: [r for r in [_home(stack, *owner)] if r.status_code == 302], timeout=15,
                     what="the owner's session ended too")
    assert "/login" in ended[0].headers["Location"]
    center = center_api(stack)
    records = center.get("auth", "/audit-records", action="refresh_token_reused")
    items = records["items"] if isinstance(records, dict) else records
    assert any(r["actor"] == demo.EMPLOYER_NO for r in items), items
