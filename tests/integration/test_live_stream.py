"""The live inbox stream through the real gateway (uvicorn worker), fed by the notify service through
real Redis pub/sub after real commits: each employer's stream carries its own notices only, and a
client that reconnects after a gateway restart learns what changed while the gateway was down."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask

from deploy import demo_data as demo
from deploy.stack import Stack
from gateway.session import EMPLOYER_KEY

from .helpers import Api, approve_change, employer_api, wait_for

pytestmark = pytest.mark.integration


def gateway_cookie(stack: Stack, api: Api, employer_no: str, live_id: str = "") -> str:
    """The gateway's session cookie for this signed-in operator, signed with the running gateway's key
    by Flask's own session serializer (as the gateway's login page would set it)."""
    app = Flask("cookie")
    app.secret_key = (stack.var_dir / "gateway_secret").read_text().strip()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    principal = {"sub": employer_no, "role": "employer", "name": "经办人", "emp": employer_no, "perms": []}
    value = {EMPLOYER_KEY: {"token": api.token, "refresh_token": api.refresh_token, "expires_at": api.expires_at,
                            "principal": principal, "sound_enabled": True, "last_active": time.time(),
                            "started_at": time.time(), "live_id": live_id}}
    return f"session={serializer.dumps(value)}"


class Listener:
    """An EventSource as a browser runs it: reads the stream's ``inbox`` events and, when the connection
    drops, connects again after the server's ``retry`` delay with the same cookie."""

    def __init__(self, url: str, cookie: str) -> None:
        self.url, self.cookie = url, cookie
        self.notices: list[dict[str, Any]] = []
        self.connections = 0
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        retry = 2.0
        while not self._stop.is_set():
            try:
                with httpx.stream("GET", self.url, headers={"Cookie": self.cookie, "Accept": "text/event-stream"},
                                  timeout=httpx.Timeout(5, read=30)) as response:
                    self.statuses.append(response.status_code)
                    if response.status_code != 200:
                        return  # as EventSource: a refused stream is not retried
                    self.connections += 1
                    event = ""
                    for line in response.iter_lines():
                        if line.startswith("retry: "):
                            retry = int(line[7:]) / 1000
                        elif line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "inbox":
                            self.notices.append(json.loads(line[6:]))
                        if self._stop.is_set():
                            return
            except httpx.HTTPError:
                pass
            self._stop.wait(retry)

    def wait_open(self, connections: int = 1) -> None:
        wait_for(lambda: self.connections >= connections, timeout=30, what=f"stream connection {connections}")

    def stop(self) -> None:
        self._stop.set()


def approve_a_change(stack: Stack, api: Api) -> None:
    approve_change(stack, api, {"address": f"太原市迎泽区实时推送路{time.monotonic_ns() % 100000}号"})


@pytest.fixture
def listeners() -> Iterator[list[Listener]]:
    made: list[Listener] = []
    yield made
    for listener in made:
        listener.stop()


def test_each_employer_hears_only_its_own_changes(stack: Stack, listeners: list[Listener]) -> None:
    url = stack.url("gateway") + "/events/stream"
    assert httpx.get(url, timeout=5).status_code == 401  # no session, no stream
    forged = gateway_cookie(stack, employer_api(stack), demo.EMPLOYER_NO).replace("session=", "session=x")
    assert httpx.get(url, headers={"Cookie": forged}, timeout=5).status_code == 401

    api_a = employer_api(stack)
    api_b = employer_api(stack, demo.SECOND_EMPLOYER_NO)
    a = Listener(url, gateway_cookie(stack, api_a, demo.EMPLOYER_NO))
    b = Listener(url, gateway_cookie(stack, api_b, demo.SECOND_EMPLOYER_NO))
    listeners += [a, b]
    a.wait_open()
    b.wait_open()
    time.sleep(0.5)
    seen_a, seen_b = len(a.notices), len(b.notices)  # a last notice from earlier tests, if any
    before = api_a.get("notify", f"/employers/{demo.EMPLOYER_NO}/inbox-counts")

    approve_a_change(stack, api_a)  # a real business: its message lands in A's 消息

    def message_notice() -> dict[str, Any] | None:
        return next((n for n in a.notices[seen_a:] if n["counts"]["message"] == before["message"] + 1), None)

    notice = wait_for(message_notice, timeout=60, what="A's notice of the new message")
    assert notice["employer_no"] == demo.EMPLOYER_NO
    newest = api_a.get("notify", f"/employers/{demo.EMPLOYER_NO}/inbox/message", per_page=1)["items"][0]
    assert notice["newest_message_id"] == newest["id"]
    assert set(notice) == {"employer_no", "counts", "newest_message_id", "at"}  # keys and counts, no text
    # 我发起的 and the other boxes moved too, each announced to A.
    assert all(n["employer_no"] == demo.EMPLOYER_NO for n in a.notices)
    time.sleep(1)
    # B's open page heard nothing of A's business. It may hear its own last notice again (the gateway
    # resends it after any resubscription to Redis, in case one was missed), but only B's own.
    counts_b = api_b.get("notify", f"/employers/{demo.SECOND_EMPLOYER_NO}/inbox-counts")
    for heard in b.notices[seen_b:]:
        assert heard["employer_no"] == demo.SECOND_EMPLOYER_NO
        assert heard["newest_message_id"] != newest["id"]
        assert heard["counts"]["message"] <= counts_b["message"]  # never A's figures


def test_a_stream_comes_back_after_a_gateway_restart_with_what_it_missed(
        stack: Stack, listeners: list[Listener]) -> None:
    api = employer_api(stack)
    url = stack.url("gateway") + "/events/stream"
    listener = Listener(url, gateway_cookie(stack, api, demo.EMPLOYER_NO))
    listeners.append(listener)
    listener.wait_open()
    box = f"/employers/{demo.EMPLOYER_NO}/inbox/message"
    if not api.get("notify", box, per_page=1)["items"]:
        approve_a_change(stack, api)
    item = wait_for(lambda: (api.get("notify", box, per_page=1)["items"] or [None])[0], what="a message")

    stack.stop_process("gateway")
    # While the gateway is down, a message is marked read (a commit in notify: a notice is published).
    read = api.call("POST", "notify", f"/employers/{demo.EMPLOYER_NO}/inbox-items/{item['id']}/read")
    assert read.status_code == 200, read.text
    expected = api.get("notify", f"/employers/{demo.EMPLOYER_NO}/inbox-counts")
    stack.start_service("gateway")

    listener.wait_open(2)  # the same client connected again by itself, with the same cookie
    notice = wait_for(lambda: next((n for n in reversed(listener.notices)
                                    if n["counts"]["read"] == expected["read"]), None),
                      timeout=30, what="the change made while the gateway was down")
    assert notice["counts"]["message"] == expected["message"]
    assert listener.statuses == [200, 200]


def test_a_stream_stops_when_its_session_ends_and_a_kept_cookie_opens_none(
        stack: Stack, listeners: list[Listener], monkeypatch: pytest.MonkeyPatch) -> None:
    """The cookie is signed, not stored: a copy kept after the logout passed the stream's check until
    its idle limit. The gateway's logout now ends the session's streams through Redis."""
    from hall_common import live
    from hall_common.settings import reset_settings

    api = employer_api(stack)
    url = stack.url("gateway") + "/events/stream"
    suffix = str(time.monotonic_ns())
    ending = gateway_cookie(stack, api, demo.EMPLOYER_NO, live_id=f"ending-{suffix}")
    staying = gateway_cookie(stack, api, demo.EMPLOYER_NO, live_id=f"staying-{suffix}")
    ended, kept = Listener(url, ending), Listener(url, staying)
    listeners += [ended, kept]
    ended.wait_open()
    kept.wait_open()

    monkeypatch.setenv("HALL_REDIS_URL", stack.redis_url)
    reset_settings()
    live.reset_client()
    try:
        live.end_session(f"ending-{suffix}")  # what the gateway's logout calls
    finally:
        monkeypatch.undo()
        reset_settings()
        live.reset_client()
    # The open stream closed; the browser's reconnect with the same cookie is refused.
    wait_for(lambda: ended.statuses == [200, 401], timeout=15, what="the ended session's stream refused")
    refused = httpx.get(url, headers={"Cookie": ending}, timeout=5)
    assert refused.status_code == 401 and refused.json()["message"] == "已退出登录，请重新登录"
    # Another session of the same employer keeps its one stream.
    time.sleep(1)
    assert kept.statuses == [200] and kept.connections == 1


def test_open_streams_carry_on_after_a_redis_restart(stack: Stack, listeners: list[Listener]) -> None:
    """Redis restarts while pages are open: their streams stay open (or come back) and the notices
    published after it reach them again, still only their own employer's."""
    from redis import Redis

    from hall_common import live as names

    url = stack.url("gateway") + "/events/stream"
    a = Listener(url, gateway_cookie(stack, employer_api(stack), demo.EMPLOYER_NO))
    b = Listener(url, gateway_cookie(stack, employer_api(stack, demo.SECOND_EMPLOYER_NO), demo.SECOND_EMPLOYER_NO))
    listeners += [a, b]
    a.wait_open()
    b.wait_open()
    stack.restart_redis(down_seconds=1)
    redis = Redis.from_url(stack.redis_url)
    marker = {"employer_no": demo.EMPLOYER_NO, "counts": {}, "newest_message_id": 0, "at": str(time.time())}

    def heard() -> bool:
        # The hub subscribes again with backoff: publish until the notice comes through (bounded).
        redis.publish(names.channel(demo.EMPLOYER_NO), json.dumps(marker))
        return marker in a.notices

    try:
        wait_for(heard, timeout=30, what="a notice after the Redis restart")
    finally:
        redis.close()
    assert marker not in b.notices
    assert a.statuses == [200] * len(a.statuses)
