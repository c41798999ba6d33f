"""The home page's read model in the real gateway (gateway/homecache.py): served from memory with no
service call until a change notice drops it, then read again exactly once, before its bound could have
expired it; an approved change and its message show on the very next page, as soon as the page's live
stream told of the message (the browser's live refresh); a session the auth service revoked is refused
by the gateway itself, though no service is asked for a cached page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa

from deploy import demo_data as demo
from deploy.stack import Stack
from gateway.homecache import TTL_SECONDS

from .helpers import center_api, employer_api, open_task_for, submit_change, wait_for
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


def _mobile_shown(stack: Stack, cookie: str) -> str:
    page = _home(stack, cookie)
    assert page.status_code == 200
    found = re.search(r"<dt>经办人手机</dt><dd>([^<]*)</dd>", _operator_block(page.text))
    assert found, _operator_block(page.text)
    return found.group(1)


def _unique_mobile() -> str:
    return f"139{time.monotonic_ns() % 100_000_000:08d}"


def test_the_cached_profile_is_read_again_once_on_its_change_notice_not_on_expiry(stack: Stack) -> None:
    """What the employer service answers is changed behind its back (a plain UPDATE on its database:
    no session, so no notice). A page that shows the old value was served with no call to the service;
    the first page that shows the new value is the one reload. The reload must come from the notice of
    a real change (a submitted change request), before the cache's bound could have expired it."""
    api = employer_api(stack)
    cookie = gateway_cookie(stack, api, demo.EMPLOYER_NO, live_id=f"cache-{time.monotonic_ns()}")
    database = sa.create_engine(stack.database_url("employer"), poolclass=sa.pool.NullPool)

    def behind_the_services_back(mobile: str) -> None:
        with database.begin() as connection:
            connection.execute(sa.text("UPDATE employers SET contact_mobile = :m WHERE employer_no = :e"),
                               {"m": mobile, "e": demo.EMPLOYER_NO})

    try:
        first, stale, after_notice, after_reload = (_unique_mobile() for _ in range(4))
        behind_the_services_back(first)
        # An entry an earlier test left is older than this value; the first page that shows it read it.
        filled_at = time.monotonic()
        while _mobile_shown(stack, cookie) != first:
            assert time.monotonic() - filled_at < 2 * TTL_SECONDS, "the profile was never read again"
            filled_at = time.monotonic()
        behind_the_services_back(stale)
        assert _mobile_shown(stack, cookie) == first  # from memory: the service would have said `stale`
        submitted = submit_change(api, {"contact_mobile": after_notice})  # its commit announces the profile
        assert submitted.status_code == 201, submitted.text
        reloaded = wait_for(lambda: _mobile_shown(stack, cookie) == stale, timeout=TTL_SECONDS,
                            what="the page read again after the change notice")
        assert reloaded and time.monotonic() - filled_at < TTL_SECONDS, "slower than the bound: not proven"
        behind_the_services_back(after_reload)
        assert _mobile_shown(stack, cookie) == stale  # the reload was kept: one call, not one per page
        # The center approves: the approval's notices drop the profile and the inbox page again.
        center = center_api(stack)
        task = open_task_for(center, submitted.json()["request"]["id"])
        count = _message_count(_home(stack, cookie).text)
        listener = Listener(stack.url("gateway") + "/events/stream", cookie)
        try:
            listener.wait_open()
            wait_for(lambda: listener.notices, timeout=15, what="the stream's first notice (the last one kept)")
            seen = len(listener.notices)
            done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                               json={"decision": "approve", "opinion": "同意"})
            assert done.status_code == 200, done.text
            # The notice of the message is what makes the open page fetch itself again (static/live.js).
            wait_for(lambda: any(n["counts"]["message"] > count for n in listener.notices[seen:]), timeout=60,
                     what="the notice of the approval's message")
        finally:
            listener.stop()
        page = _home(stack, cookie)
        assert _message_count(page.text) > count
        assert after_notice in _operator_block(page.text)
    finally:
        database.dispose()


def test_a_session_revoked_at_the_auth_service_is_refused_by_the_gateway(stack: Stack) -> None:
    # Three sessions of one account (three PCs): a change of rights ends every one of them, each refused
    # by the gateway although all three pages are cached.
    cookies = [gateway_cookie(stack, employer_api(stack), demo.EMPLOYER_NO) for _ in range(3)]
    for cookie in cookies:
        assert _home(stack, cookie).status_code == 200
        assert _home(stack, cookie).status_code == 200  # cached now: no service sees the next page
    center = center_api(stack)
    account = next(o for o in center.get("auth", "/auth/operators") if o["login_name"] == demo.EMPLOYER_NO)
    changed = center.call("PUT", "auth", f"/auth/operators/{demo.EMPLOYER_NO}/permissions",
                          json={"permissions": account["permissions"]})  # a change of rights ends the sessions
    assert changed.status_code == 200, changed.text
    # The gateway forgets the session's "not revoked" on the auth service's notice (Redis pub/sub), which
    # may trail the answer to the PUT by a moment: refused by then.
    for n, cookie in enumerate(cookies, 1):
        refused = wait_for(_refused(stack, cookie), timeout=5, what=f"revoked session {n} of 3 refused")
        assert "/login" in refused.headers["Location"]


def _refused(stack: Stack, cookie: str) -> Callable[[], httpx.Response | None]:
    def check() -> httpx.Response | None:
        answer = _home(stack, cookie)
        return answer if answer.status_code == 302 else None
    return check
