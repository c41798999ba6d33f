"""Live inbox notices: notify publishes one after each commit that changes an employer's inboxes (never
after a rollback); the gateway's stream opens the session cookie as its pages do; a live refresh of the
page does not count as the user's activity."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from flask import Flask
from sqlalchemy import select

from gateway import create_app
from gateway.session import EMPLOYER_KEY, stream_employer
from hall_common import db
from hall_common.consumer import consume
from hall_common.events import make_event
from services.notify import live, messages, services

from .conftest import make_app

DATA = {"employer_no": "100100001", "employer_name": "太原市示例科技有限公司", "business_type": "employer_change",
        "business_id": "1", "title": "单位信息变更"}

T = TypeVar("T")


def run_isolated(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on a thread of its own: a sync Playwright test earlier in the session leaves this
    thread's event loop marked running, where asyncio.run refuses to start."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(asyncio.run(coroutine))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    if errors:
        raise errors[0]
    assert results, "the coroutine did not finish within 60 s"
    return results[0]


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(live, "_publish", lambda notices: sent.extend(notices))
    return sent


def test_a_committed_message_is_announced_with_the_counts_and_its_id(
        published: list[dict[str, Any]], employer_headers: dict[str, str]) -> None:
    app = make_app("notify")
    with app.app_context():
        consume(make_event("employer", "employer.info_changed", DATA))
    assert len(published) == 1
    notice = published[0]
    assert notice["employer_no"] == "100100001"
    assert notice["counts"] == {"message": 1, "todo": 0, "done": 0, "initiated": 0, "read": 0}
    page = app.test_client().get("/employers/100100001/inbox/message", headers=employer_headers).get_json()
    assert notice["newest_message_id"] == page["items"][0]["id"]

    read = app.test_client().post(f"/employers/100100001/inbox-items/{page['items'][0]['id']}/read",
                                  headers=employer_headers)
    assert read.status_code == 200
    assert published[-1]["counts"]["message"] == 0 and published[-1]["counts"]["read"] == 1
    assert published[-1]["newest_message_id"] == 0  # no message left in 消息


def test_a_rolled_back_change_is_not_announced(published: list[dict[str, Any]]) -> None:
    app = make_app("notify")
    with app.app_context():
        session = db.session()
        messages.add_message({"id": "e1", "type": "employer.info_changed", "data": DATA})
        session.rollback()
        session.commit()  # a later, empty commit announces nothing either
    assert published == []


def test_publish_change_by_number_and_for_orm_changes(published: list[dict[str, Any]]) -> None:
    app = make_app("notify")
    with app.app_context():
        live.publish_change("200200002")
        assert [n["employer_no"] for n in published] == ["200200002"]
        session = db.session()
        live.publish_change(session, "300300003")
        session.commit()
    assert [n["employer_no"] for n in published] == ["200200002", "300300003"]


def _cookie(app: Flask, value: dict[str, Any]) -> str:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return f"{app.config['SESSION_COOKIE_NAME']}={serializer.dumps(value)}"


def _employer(**values: Any) -> dict[str, Any]:
    """The gateway's employer session as start() writes it."""
    return {"token": "t", "principal": {"emp": "100100001", "perms": []}, "last_active": time.time(),
            "started_at": time.time() - 60, **values}


def test_the_stream_reads_the_session_cookie_as_the_pages_do() -> None:
    app = create_app()
    employer = _employer()
    found = stream_employer(app, _cookie(app, {EMPLOYER_KEY: employer}))
    assert found is not None and found[0] == "100100001" and found[1] > time.time()
    idle = dict(employer, last_active=time.time() - 3600)
    assert stream_employer(app, _cookie(app, {EMPLOYER_KEY: idle})) is None
    assert stream_employer(app, _cookie(app, {"center_session": employer})) is None
    assert stream_employer(app, "") is None
    forged = _cookie(app, {EMPLOYER_KEY: employer})[:-3] + "abc"
    assert stream_employer(app, forged) is None


def test_a_live_refresh_does_not_move_the_idle_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    from hall_common.client import ServiceClient

    answers = {"employer": {"name": "x", "employer_no": "100100001"}, "payment": {"balance": "0", "unallocated": "0"},
               "notify": {"items": [], "total": 0, "counts": dict.fromkeys(("message", "todo", "done",
                                                                           "initiated", "read"), 0)}}
    monkeypatch.setattr(ServiceClient, "get", lambda self, path, **params: answers[self.service])
    client = create_app().test_client()
    started = time.time() - 600
    with client.session_transaction() as session:
        session[EMPLOYER_KEY] = {"token": "t", "principal": {"name": "王晓燕", "sub": "100100001", "emp": "100100001",
                                 "emp_name": "示例", "perms": []}, "last_active": started}
    assert client.get("/", headers={"X-Hall-Live": "1"}).status_code == 200
    with client.session_transaction() as session:
        assert session[EMPLOYER_KEY]["last_active"] == started
    assert client.get("/").status_code == 200  # the user's own request does
    with client.session_transaction() as session:
        assert session[EMPLOYER_KEY]["last_active"] > started


def test_the_hub_hands_a_notice_to_its_own_employer_only_and_keeps_the_newest() -> None:

    from gateway.stream import QUEUE_SIZE, Hub, frame

    async def scenario() -> None:
        hub = Hub("redis://127.0.0.1:1/0")  # never connected here: delivery is in-process
        a1, a2, b = hub.open("100100001"), hub.open("100100001"), hub.open("200200002")
        hub.deliver("100100001", b'{"n":1}')
        assert a1.get_nowait() == a2.get_nowait() == b'{"n":1}'
        assert b.empty()
        for n in range(QUEUE_SIZE + 3):  # a page that does not read keeps only the newest notices
            hub.deliver("200200002", f'{{"n":{n}}}'.encode())
        assert b.qsize() == QUEUE_SIZE
        kept = [b.get_nowait() for _ in range(QUEUE_SIZE)]
        assert kept[-1] == f'{{"n":{QUEUE_SIZE + 2}}}'.encode()
        hub.close("100100001", a1)
        hub.close("100100001", a2)
        assert "100100001" not in hub.streams
        await hub.redis.aclose()

    run_isolated(scenario())
    assert frame(b'{"a":1}') == b'event: inbox\ndata: {"a":1}\n\n'


def test_one_commit_for_many_employers_reads_each_ones_own_figures(published: list[dict[str, Any]]) -> None:
    from services.notify.models import InboxItem

    from .notify_support import process_events

    app = make_app("notify")
    with app.app_context():
        for event in process_events(7)[:5]:  # returned: 1 in 待办 and 我发起的 of 100100001
            consume(event)
        for event in process_events(8, employer_no="200200002"):  # resubmitted and approved: 已办
            consume(event)
        published.clear()
        session = db.session()
        for n, employer_no in enumerate(["100100001", "200200002", "300300003"] * 2):
            session.add(InboxItem(employer_no=employer_no, box="message", business_type="broadcast",
                                  business_id=str(n), title="通知", content="中心通知", source_event_id=f"b{n}"))
            services.bump(session, employer_no, "message", 1)
        session.commit()
        assert len(published) == 3
        for notice in published:
            assert notice["counts"] == services.all_counts(notice["employer_no"])
            newest = session.scalars(select(InboxItem.id).where(InboxItem.employer_no == notice["employer_no"])
                                     .order_by(InboxItem.id.desc())).first()
            assert notice["newest_message_id"] == newest
    figures = {n["employer_no"]: n["counts"] for n in published}
    assert figures["100100001"]["todo"] == 1 and figures["200200002"]["done"] == 1
    assert figures["300300003"] == {"message": 2, "todo": 0, "done": 0, "initiated": 0, "read": 0}


def test_an_ended_session_ends_its_own_streams_only() -> None:

    from gateway.stream import END, Hub, _events

    async def scenario() -> None:
        hub = Hub("redis://127.0.0.1:1/0")  # Redis down: not known as ended, the stream opens
        events = _events(hub, "100100001", time.time() + 60, "session-a")
        assert (await events.__anext__()).startswith(b"retry:")
        other = hub.open("100100001", "session-b")
        hub.deliver("100100001", b'{"n":1}')
        hub.end("session-a")
        for n in range(20):  # notices after the end never push the END out of its queue
            hub.deliver("100100001", f'{{"n":{n}}}'.encode())
        assert other.qsize() == 8
        while other.qsize() > 1:
            other.get_nowait()
        assert other.get_nowait() == b'{"n":19}' and other.empty()  # the other session is untouched
        with pytest.raises(StopAsyncIteration):  # the notice it had not read is dropped, the stream ends
            await events.__anext__()
        assert "session-a" not in hub.sessions and hub.streams["100100001"] == {other}
        assert END == b""
        await hub.redis.aclose()

    run_isolated(scenario())


def test_logout_and_a_new_login_end_the_former_session_for_the_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import session as sessions
    from hall_common import live as names
    from hall_common.client import ServiceClient

    ended: list[str] = []
    monkeypatch.setattr(names, "end_session", ended.append)
    monkeypatch.setattr(ServiceClient, "post", lambda self, path, body=None: {})
    app = create_app()
    login = {"token": "t", "principal": {"emp": "100100001", "perms": []}}
    with app.test_request_context("/"):
        sessions.start(EMPLOYER_KEY, login)
        first = sessions.current(EMPLOYER_KEY)["live_id"]  # type: ignore[index]
        sessions.start(EMPLOYER_KEY, login)  # another login in the same browser replaces it
        second = sessions.current(EMPLOYER_KEY)["live_id"]  # type: ignore[index]
        assert ended == [first] and second != first
        sessions.revoke(EMPLOYER_KEY)
        assert ended == [first, second]


def test_one_session_opens_a_bounded_number_of_streams_and_a_logged_out_copy_none(
        monkeypatch: pytest.MonkeyPatch) -> None:

    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Route

    from gateway.stream import PATH, SESSION_STREAMS, Hub, endpoint

    app = create_app()
    cookie = _cookie(app, {EMPLOYER_KEY: _employer(live_id="session-a")})
    hub = Hub("redis://127.0.0.1:1/0")
    for _ in range(SESSION_STREAMS):
        hub.open("100100001", "session-a")
    served = Starlette(routes=[Route(PATH, endpoint(app, hub))])

    def get() -> httpx.Response:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://hall") as client:
                return await client.get(PATH, headers={"cookie": cookie})

        return run_isolated(call())

    refused = get()
    assert refused.status_code == 429 and refused.json()["message"] == "打开的页面过多，请关闭部分页面后重试"

    async def ended(live_id: str, session_id: str = "") -> bool:
        return live_id == "session-a"

    monkeypatch.setattr(hub, "ended", ended)  # what Redis answers once the gateway's logout marked it
    gone = get()
    assert gone.status_code == 401 and gone.json()["message"] == "已退出登录，请重新登录"
    run_isolated(hub.redis.aclose())


def test_a_stream_ends_at_the_sessions_absolute_limit_though_its_pages_keep_it_active() -> None:
    from gateway.stream import Hub, _events
    from hall_common.settings import get_settings

    app = create_app()
    absolute = get_settings().session_absolute_seconds
    busy = _employer(started_at=time.time() - absolute + 1)  # used a moment ago, signed in eight hours ago
    found = stream_employer(app, _cookie(app, {EMPLOYER_KEY: busy}))
    assert found is not None and found[1] <= busy["started_at"] + absolute  # not the idle limit, 15 min away
    assert stream_employer(app, _cookie(app, {EMPLOYER_KEY: dict(busy, started_at=time.time() - absolute)})) is None
    unknown = _employer()
    del unknown["started_at"]  # a cookie from before sessions recorded their start: its limit is not known
    assert stream_employer(app, _cookie(app, {EMPLOYER_KEY: unknown})) is None

    async def scenario() -> float:
        hub = Hub("redis://127.0.0.1:1/0")
        began = time.monotonic()
        async for _chunk in _events(hub, "100100001", time.time() + 0.5, "session-a"):
            pass  # the stream ends by itself at the limit it was given
        await hub.redis.aclose()
        return time.monotonic() - began

    assert 0.4 < run_isolated(scenario()) < 5


def test_of_forty_simultaneous_opens_of_one_session_at_most_thirty_two_are_served() -> None:
    import httpx
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Route

    from deploy.stack import free_port
    from gateway.stream import PATH, SESSION_STREAMS, Hub, endpoint

    app = create_app()
    cookie = _cookie(app, {EMPLOYER_KEY: _employer(live_id="session-a")})
    hub = Hub("redis://127.0.0.1:1/0")  # Redis down: the door lets every open through to the count
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route(PATH, endpoint(app, hub))]), host="127.0.0.1",
                                           port=port, log_level="warning", timeout_graceful_shutdown=1))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    opens, start, done = 40, threading.Barrier(40), threading.Event()
    statuses: list[int] = []
    lock = threading.Lock()

    def open_stream() -> None:
        start.wait()
        with httpx.stream("GET", f"http://127.0.0.1:{port}{PATH}", headers={"cookie": cookie},
                          timeout=httpx.Timeout(10)) as response:
            with lock:
                statuses.append(response.status_code)
            if response.status_code == 200:
                done.wait(20)  # hold the stream open while the others try

    threads = [threading.Thread(target=open_stream) for _ in range(opens)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(statuses) < opens:
            assert time.monotonic() < deadline, f"only {len(statuses)} answers"
            time.sleep(0.02)
        assert statuses.count(200) == SESSION_STREAMS and statuses.count(429) == opens - SESSION_STREAMS
    finally:
        done.set()
        for thread in threads:
            thread.join(20)
    deadline = time.monotonic() + 10
    while hub.sessions:  # every place is given back once its page went away
        assert time.monotonic() < deadline, f"places kept: {[len(q) for q in hub.sessions.values()]}"
        time.sleep(0.02)
    server.should_exit = True
    serving.join(10)
