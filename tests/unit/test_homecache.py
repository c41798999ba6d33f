"""The gateway's read model of the home page: filled by the service calls on a miss, dropped by each
service's change notice through a real Redis (employer profile, payment account, notify inbox), never
served while the subscription is down, never one employer's (or operator's) to another; a fill that
raced a notice is not kept."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from gateway.homecache import ACCOUNT, INBOX, PROFILE, HomeCache, home_blocks
from hall_common import db
from hall_common.consumer import consume
from hall_common.events import make_event

from .conftest import EMPLOYER_NO, make_app, token_for
from .homecache_support import RedisServer, RunningHub, redis_server, running_hub, wait_until
from .test_employer import _outcome, submit

__all__ = ["redis_server", "running_hub"]  # fixtures used below
BASE = f"/employers/{EMPLOYER_NO}"
SESSION_ID = "session-1"


class Pages:
    """The home page's three calls against the services' apps, counted per service."""

    def __init__(self, employer: Flask | None = None, payment: Flask | None = None, notify: Flask | None = None,
                 login: str = EMPLOYER_NO) -> None:
        self.apps = {"employer": employer, "payment": payment, "notify": notify}
        self.headers = {"Authorization": f"Bearer {token_for(login_name=login)}"}
        self.login = login
        self.calls: Counter[str] = Counter()

    def _get(self, service: str, path: str) -> Any:
        self.calls[service] += 1
        app = self.apps[service]
        if app is None:  # a service this test does not change: a fixed answer
            return {"service": service}
        response = app.test_client().get(path, headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def home(self, cache: HomeCache, box: str = "message") -> list[Any]:
        return home_blocks(EMPLOYER_NO, SESSION_ID, self.login, box, (
            lambda: self._get("employer", BASE),
            lambda: self._get("payment", f"{BASE}/account"),
            lambda: self._get("notify", f"{BASE}/inbox/{box}?page=1&per_page=5&initiator={self.login}"),
        ), cache=cache)


def settled(service: str, cache: HomeCache, topic: str) -> Flask:
    """The service's app, once its seed's own notice (demo rows committed) reached the cache: a notice
    that came late would drop what the test filled after it."""
    app = make_app(service)
    wait_until(lambda: cache.noticed(EMPLOYER_NO, topic), f"the notice of the {service} seed")
    return app


def test_an_approved_change_drops_the_cached_profile_at_once(running_hub: RunningHub,
                                                            employer_headers: dict[str, str]) -> None:
    employer = settled("employer", running_hub.cache, PROFILE)
    pages, cache = Pages(employer=employer), running_hub.cache
    before = pages.home(cache)[0]
    assert pages.home(cache)[0] == before and pages.calls["employer"] == 1  # the second page: from memory
    # Submitting changes the profile too (its pending request): the notice drops it.
    submitted = submit(employer, employer_headers, [{"field": "address", "value": "新地址1号"}])
    request_id = submitted.get_json()["request"]["id"]
    wait_until(lambda: cache.get(EMPLOYER_NO, (PROFILE,)) is None, "the submission's notice")
    assert pages.home(cache)[0]["pending_request_id"] == request_id
    with employer.app_context():
        assert consume(_outcome(employer, request_id, approved=True)) == "processed"
    wait_until(lambda: cache.get(EMPLOYER_NO, (PROFILE,)) is None, "the approval's notice")
    fields = {f["name"]: f["value"] for f in pages.home(cache)[0]["fields"]}
    assert fields["address"] == "新地址1号" and pages.calls["employer"] == 3
    assert pages.calls["payment"] == 1 and pages.calls["notify"] == 1  # the other blocks stayed


def test_an_account_change_drops_the_cached_account(running_hub: RunningHub) -> None:
    from services.payment.models import EmployerAccount

    payment = settled("payment", running_hub.cache, ACCOUNT)
    pages, cache = Pages(payment=payment), running_hub.cache
    balance = Decimal(pages.home(cache)[1]["balance"])
    with payment.app_context():
        db.session().get(EmployerAccount, EMPLOYER_NO).balance += Decimal("100.00")  # type: ignore[union-attr]
        db.session().commit()
    wait_until(lambda: cache.get(EMPLOYER_NO, (ACCOUNT,)) is None, "the account's notice")
    assert Decimal(pages.home(cache)[1]["balance"]) == balance + Decimal("100.00")
    assert pages.calls == Counter(employer=1, payment=2, notify=1)


def test_a_rolled_back_change_announces_nothing(running_hub: RunningHub) -> None:
    from services.payment.models import EmployerAccount

    payment = settled("payment", running_hub.cache, ACCOUNT)
    pages, cache = Pages(payment=payment), running_hub.cache
    pages.home(cache)
    wait_until(lambda: cache.noticed("100100002", ACCOUNT), "the seed's notice of the other employer")
    before = cache.noticed("100100002", ACCOUNT)
    with payment.app_context():
        db.session().get(EmployerAccount, EMPLOYER_NO).balance += Decimal("1.00")  # type: ignore[union-attr]
        db.session().flush()
        db.session().rollback()
        # A notice that is sent travels in order: this one's arrival means any earlier one arrived too.
        db.session().get(EmployerAccount, "100100002").balance += Decimal("1.00")  # type: ignore[union-attr]
        db.session().commit()
    wait_until(lambda: cache.noticed("100100002", ACCOUNT) > before, "the other employer's notice")
    assert cache.get(EMPLOYER_NO, (ACCOUNT,)) is not None


def test_a_new_message_drops_the_cached_inbox_pages_of_every_operator(running_hub: RunningHub) -> None:
    notify = make_app("notify")
    own, other = Pages(notify=notify), Pages(notify=notify, login="100100001b")
    cache = running_hub.cache
    assert own.home(cache)[2]["counts"]["message"] == 0
    other.home(cache)
    own.home(cache, box="todo")
    with notify.app_context():
        consume(make_event("employer", "employer.info_changed", {
            "employer_no": EMPLOYER_NO, "employer_name": "太原市示例科技有限公司", "business_type": "employer_change",
            "business_id": "1", "title": "单位信息变更"}))
    wait_until(lambda: cache.get(EMPLOYER_NO, (INBOX, "message", EMPLOYER_NO)) is None, "the inbox notice")
    assert cache.get(EMPLOYER_NO, (INBOX, "message", "100100001b")) is None
    assert cache.get(EMPLOYER_NO, (INBOX, "todo", EMPLOYER_NO)) is None
    page = own.home(cache)[2]
    assert page["counts"]["message"] == 1 and page["items"][0]["title"]
    assert cache.get(EMPLOYER_NO, (PROFILE,)) is not None  # the inbox notice drops only the inbox


def test_the_cache_serves_nothing_while_the_subscription_is_down(running_hub: RunningHub,
                                                                 redis_server: RedisServer) -> None:
    pages, cache = Pages(), running_hub.cache
    pages.home(cache)
    pages.home(cache)
    assert pages.calls["employer"] == 1
    redis_server.stop()  # a notice published now would be missed
    wait_until(lambda: not cache.serving, "the Hub notices the lost subscription")
    assert len(cache) == 0
    pages.home(cache)
    pages.home(cache)
    assert pages.calls["employer"] == 3  # every page asks the services (which check revocation themselves)
    redis_server.start()  # the same port: the Hub subscribes again, and the cache starts empty
    wait_until(lambda: cache.serving, "the Hub subscribes again", seconds=30)
    pages.home(cache)
    pages.home(cache)
    assert pages.calls["employer"] == 4


def test_a_fill_that_raced_a_notice_is_not_kept_and_keys_never_cross() -> None:
    cache = HomeCache()
    assert cache.ticket() is None and not cache.put(EMPLOYER_NO, (PROFILE,), {"v": 0}, 0)  # not subscribed
    cache.online()
    ticket = cache.ticket()
    assert ticket is not None
    cache.invalidate(EMPLOYER_NO, PROFILE)  # the data changed while the fill was reading the old one
    assert not cache.put(EMPLOYER_NO, (PROFILE,), {"v": 1}, ticket)
    assert cache.put(EMPLOYER_NO, (ACCOUNT,), {"v": 1}, ticket)  # another topic was not touched
    assert cache.put(EMPLOYER_NO, (PROFILE,), {"v": 2}, cache.ticket())  # type: ignore[arg-type]
    assert cache.get(EMPLOYER_NO, (PROFILE,)) == {"v": 2}
    assert cache.get("200200002", (PROFILE,)) is None
    cache.put(EMPLOYER_NO, (INBOX, "initiated", "operator-a"), {"mine": True}, cache.ticket())  # type: ignore[arg-type]
    assert cache.get(EMPLOYER_NO, (INBOX, "initiated", "operator-b")) is None
    cache.offline()
    cache.online()
    assert not cache.put(EMPLOYER_NO, (PROFILE,), {"v": 3}, ticket)  # began before the subscription changed
    assert len(cache) == 0


def test_entries_expire_and_the_number_of_employers_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import homecache

    now = [1000.0]
    monkeypatch.setattr(homecache.time, "monotonic", lambda: now[0])
    cache = HomeCache(ttl=10, max_groups=3)
    cache.online()
    for n in range(5):
        cache.put(f"e{n}", (PROFILE,), n, cache.ticket())  # type: ignore[arg-type]
    assert [cache.get(f"e{n}", (PROFILE,)) for n in range(5)] == [None, None, 2, 3, 4]
    now[0] += 10
    assert cache.get("e4", (PROFILE,)) is None


def _token_with(session_id: str) -> str:
    import base64
    import json

    payload = base64.urlsafe_b64encode(json.dumps({"sid": session_id}).encode()).decode().rstrip("=")
    return f"e30.{payload}.signature"  # the gateway only reads the claim; the services verify tokens


def test_the_home_page_is_served_from_memory_and_refused_once_its_session_is_revoked(
        redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from redis import Redis

    from gateway import create_app, homecache
    from gateway.session import EMPLOYER_KEY
    from hall_common import live
    from hall_common.client import ServiceClient

    cache = HomeCache()
    cache.online()  # as the Hub does once subscribed
    monkeypatch.setattr(homecache, "CACHE", cache)
    calls: Counter[str] = Counter()
    answers = {"employer": {"name": "太原市示例科技有限公司", "employer_no": EMPLOYER_NO, "fields": []},
               "payment": {"balance": "1.00", "unallocated": "0"},
               "notify": {"items": [], "total": 0, "counts": dict.fromkeys(("message", "todo", "done",
                                                                           "initiated", "read"), 0)}}

    def get(self: ServiceClient, path: str, **params: Any) -> Any:
        calls[self.service] += 1
        return answers[self.service]

    monkeypatch.setattr(ServiceClient, "get", get)
    client = create_app().test_client()
    with client.session_transaction() as session:
        session[EMPLOYER_KEY] = {"token": _token_with("s-1"), "principal": {
            "name": "王晓燕", "sub": EMPLOYER_NO, "emp": EMPLOYER_NO, "emp_name": "示例", "perms": []},
            "last_active": __import__("time").time()}
    for _ in range(3):
        page = client.get("/")
        assert page.status_code == 200 and "太原市示例科技有限公司" in page.get_data(as_text=True)
    assert calls == Counter(employer=1, payment=1, notify=1)
    Redis.from_url(redis_server.url).set(live.revoked_key("s-1"), "s-1")
    cache.invalidate("session:s-1", "session")  # what the Hub does on the auth service's notice
    refused = client.get("/")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert calls == Counter(employer=1, payment=1, notify=1)
    with client.session_transaction() as session:
        assert EMPLOYER_KEY not in session  # the gateway ended the session


def test_the_bound_counts_from_when_the_data_was_read_not_when_it_was_stored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import homecache

    now = [1000.0]
    monkeypatch.setattr(homecache.time, "monotonic", lambda: now[0])
    cache = HomeCache(ttl=10)
    cache.online()
    calls: Counter[str] = Counter()

    def answer(name: str) -> Any:
        def call() -> Any:
            calls[name] += 1
            return {name: calls[name]}
        return call

    def gather(*fetch: Any) -> list[Any]:
        now[0] += 4  # the services take four seconds to answer
        return [call() for call in fetch]

    monkeypatch.setattr(homecache, "gather", gather)
    monkeypatch.setattr(homecache, "_session_state", lambda *args: True)

    def home() -> list[Any]:
        return home_blocks(EMPLOYER_NO, SESSION_ID, EMPLOYER_NO, "message",
                           (answer("profile"), answer("account"), answer("inbox")), cache=cache)

    read_at = now[0]
    home()
    now[0] = read_at + 9.9
    assert home()[0] == {"profile": 1}  # from memory
    now[0] = read_at + 10  # ten seconds after the read began, though stored six seconds ago
    assert home()[0] == {"profile": 2} and calls == Counter(profile=2, account=2, inbox=2)


def test_a_notice_for_every_employer_drops_the_topic_everywhere() -> None:
    from hall_common.changes import EVERY

    cache = HomeCache()
    cache.online()
    ticket = cache.ticket()
    assert ticket is not None
    for employer_no in (EMPLOYER_NO, "200200002"):
        cache.put(employer_no, (PROFILE,), {"v": 1}, ticket)
        cache.put(employer_no, (ACCOUNT,), {"v": 1}, ticket)
    cache.invalidate(EVERY, PROFILE)
    assert cache.get(EMPLOYER_NO, (PROFILE,)) is None and cache.get("200200002", (PROFILE,)) is None
    assert cache.get("200200002", (ACCOUNT,)) == {"v": 1}
    assert not cache.put("300300003", (PROFILE,), {"v": 0}, ticket)  # a fill that began before it
    assert cache.put("300300003", (ACCOUNT,), {"v": 0}, ticket)
