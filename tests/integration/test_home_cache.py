"""The home page's read model in the real gateway (gateway/homecache.py): served from memory, yet an
approved change and its message show on the very next page, as soon as the page's live stream told of
the message (the browser's live refresh); a session the auth service revoked is refused by the gateway
itself, though no service is asked for a cached page."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from deploy import demo_data as demo
from deploy.stack import Stack

from .helpers import approve_change, center_api, employer_api, wait_for
from .test_live_stream import Listener, gateway_cookie

pytestmark = pytest.mark.integration


def _home(stack: Stack, cookie: str) -> httpx.Response:
    return httpx.get(stack.url("gateway") + "/", headers={"Cookie": cookie}, timeout=10)


def _operator_block(html: str) -> str:
    found = re.search(r'<dl id="operator">(.*?)</dl>', html, re.S)
    assert found, html[:500]
    return found.group(1)


def _message_count(html: str) -> int:
    found = re.search(r'data-box="message"[^>]*>消息 <span class="count">(\d+)</span>', html)
    assert found, html[:500]
    return int(found.group(1))


def test_an_approved_change_and_its_message_show_on_the_next_page_at_once(stack: Stack) -> None:
    api = employer_api(stack)
    cookie = gateway_cookie(stack, api, demo.EMPLOYER_NO, live_id=f"cache-{time.monotonic_ns()}")
    first = _home(stack, cookie)
    assert first.status_code == 200
    assert _home(stack, cookie).text.count("经办人手机") == 1  # the second page, from the gateway's memory
    count = _message_count(first.text)
    listener = Listener(stack.url("gateway") + "/events/stream", cookie)
    try:
        listener.wait_open()
        wait_for(lambda: listener.notices, timeout=15, what="the stream's first notice (the last one kept)")
        seen = len(listener.notices)
        mobile = f"139{time.monotonic_ns() % 100_000_000:08d}"
        approve_change(stack, api, {"contact_mobile": mobile})
        # The notice of the message is what makes the open page fetch itself again (static/live.js).
        wait_for(lambda: any(n["counts"]["message"] > count for n in listener.notices[seen:]), timeout=60,
                 what="the notice of the approval's message")
    finally:
        listener.stop()
    page = _home(stack, cookie)  # no wait for the cache's TTL: the notices dropped its entries
    assert page.status_code == 200
    assert mobile in _operator_block(page.text)
    assert _message_count(page.text) > count


def test_a_session_revoked_at_the_auth_service_is_refused_by_the_gateway(stack: Stack) -> None:
    api = employer_api(stack)
    cookie = gateway_cookie(stack, api, demo.EMPLOYER_NO)
    assert _home(stack, cookie).status_code == 200
    assert _home(stack, cookie).status_code == 200  # cached now: no service sees the next page
    center = center_api(stack)
    account = next(o for o in center.get("auth", "/auth/operators") if o["login_name"] == demo.EMPLOYER_NO)
    changed = center.call("PUT", "auth", f"/auth/operators/{demo.EMPLOYER_NO}/permissions",
                          json={"permissions": account["permissions"]})  # a change of rights ends the sessions
    assert changed.status_code == 200, changed.text
    refused = _home(stack, cookie)
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
