"""Pushes: a retry is recognised by its whole normalised request, senders are rate-limited and counted
against a daily broadcast quota, and a downstream system reads the status of its own pushes only."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from hall_common.settings import reset_settings
from services.notify import push, push_rules

from ..threads import at_once
from .conftest import auth, make_app, token_for
from .homecache_support import RedisServer, redis_server
from .push_support import DIRECTORY, A, B, body, fake_directory, inbox

__all__ = ["redis_server"]  # a fixture used below


def downstream(name: str = "core-accounting") -> dict[str, str]:
    return auth(token_for("service", None, perms=("push",), login_name=name))


def center() -> dict[str, str]:
    return auth(token_for("center", None))


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setattr(push, "directory", fake_directory)
    monkeypatch.setattr(push, "schedule", lambda push_id, cursor: None)
    return make_app("notify")


def broadcast(key: str) -> dict[str, Any]:
    return body(client_key=key, target="all", employer_nos=[])


# -- the same push -----------------------------------------------------------------------------------

def test_the_normal_form_ignores_spaces_order_and_repeats() -> None:
    first = body(target="list", employer_nos=[A, B], title="缴存提醒", content="请于本月25日前\n完成汇缴。")
    retry = body(target="list", employer_nos=[B, " " + A, A], title=" 缴存提醒 ",
                 content="  请于本月25日前 \r\n  完成汇缴。 ")
    assert push_rules.digest(first) == push_rules.digest(retry)
    for other in (body(target="list", employer_nos=[A]), body(channel="微信"), body(title="缴存通知"),
                  body(content="请于本月26日前完成汇缴。"), body(target="list", employer_nos=[A])):
        assert push_rules.digest(other) != push_rules.digest(body())
    assert push_rules.employers([" 2 ", "1", "2", ""]) == ["1", "2"]


def test_a_retry_with_a_trailing_space_and_reordered_list_is_the_same_push(app: Flask) -> None:
    client = app.test_client()
    first = client.post("/pushes", json=body(target="list", employer_nos=[A, B]), headers=downstream())
    retry = client.post("/pushes", json=body(target="list", employer_nos=[B + " ", A, A], title="缴存提醒 ",
                                             content="请于本月25日前完成汇缴。\n"), headers=downstream())
    assert (first.status_code, retry.status_code) == (202, 200), retry.get_json()
    assert retry.get_json()["message"] == "该推送已受理，未重复推送"
    assert retry.get_json()["push"]["id"] == first.get_json()["push"]["id"]
    assert inbox(app, A)["total"] == 1 and inbox(app, B)["total"] == 1


def test_the_same_key_with_another_employer_list_is_refused_and_stores_nothing(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/pushes", json=body(target="list", employer_nos=[A]), headers=downstream()).status_code == 202
    other = client.post("/pushes", json=body(target="list", employer_nos=[A, B]), headers=downstream())
    assert other.status_code == 409
    assert other.get_json()["message"] == "推送编号已用于另一条消息，请更换推送编号"
    assert inbox(app, B)["total"] == 0
    # Another target, or the same message as a broadcast, is another push too.
    assert client.post("/pushes", json=broadcast("req-0001"), headers=downstream()).status_code == 409


def test_a_push_stored_before_digests_is_still_recognised_by_its_fields(app: Flask) -> None:
    from sqlalchemy import update

    from hall_common import db
    from services.notify.models import Push

    client = app.test_client()
    assert client.post("/pushes", json=body(), headers=downstream()).status_code == 202
    with app.app_context():
        db.session().execute(update(Push).values(request_digest=None))
        db.session().commit()
    assert client.post("/pushes", json=body(title="缴存提醒  "), headers=downstream()).status_code == 200
    assert client.post("/pushes", json=body(title="另一标题"), headers=downstream()).status_code == 409


# -- rate limit and daily quota ------------------------------------------------------------------------

def test_a_sender_over_its_rate_limit_gets_a_chinese_429_and_others_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_PUSH_LIMIT_PER_SENDER", "3 per minute")
    reset_settings()
    monkeypatch.setattr(push, "directory", fake_directory)
    client = make_app("notify").test_client()
    answers = [client.post("/pushes", json=body(client_key=f"req-{i:04d}"), headers=downstream()).status_code
               for i in range(3)]
    refused = client.post("/pushes", json=body(client_key="req-0009"), headers=downstream())
    assert answers == [202] * 3
    assert refused.status_code == 429
    assert refused.get_json() == {"code": 429, "status": "Too Many Requests", "message": "推送过于频繁，请稍后再试"}
    assert int(refused.headers["Retry-After"]) > 0
    assert inbox(make_app("notify", seed=False), A)["total"] == 3  # the refused one stored nothing
    # Counted per sender: another system, and the center, are not affected.
    assert client.post("/pushes", json=body(client_key="req-0009"), headers=downstream("hr-system")).status_code == 202
    assert client.post("/pushes", json=body(client_key="req-0009"), headers=center()).status_code == 202


def test_the_rate_limit_holds_under_simultaneous_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_PUSH_LIMIT_PER_SENDER", "4 per minute")
    # Counted in this process's memory (shared through Redis in the stack, as auth's limits are tested).
    monkeypatch.setenv("HALL_RATE_LIMIT_STORAGE_URI", "memory://")
    reset_settings()
    monkeypatch.setattr(push, "directory", fake_directory)
    app = make_app("notify")
    headers = downstream()

    def send(i: int) -> int:
        return int(app.test_client().post("/pushes", json=body(client_key=f"req-{i:04d}"),
                                          headers=headers).status_code)

    statuses = at_once([lambda i=i: send(i) for i in range(10)])  # type: ignore[misc]
    assert sorted(statuses) == [202] * 4 + [429] * 6


def test_the_rate_limit_is_shared_by_every_notify_process_through_redis(
        monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer) -> None:
    monkeypatch.setenv("HALL_PUSH_LIMIT_PER_SENDER", "4 per minute")
    reset_settings()
    monkeypatch.setattr(push, "directory", fake_directory)
    first, second = make_app("notify").test_client(), make_app("notify", seed=False).test_client()  # two processes
    answers = [client.post("/pushes", json=body(client_key=f"req-{i:04d}"), headers=downstream()).status_code
               for i, client in enumerate((first, second, first, second, first, second))]
    assert answers == [202] * 4 + [429] * 2


def test_broadcasts_are_counted_against_a_daily_quota_per_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_PUSH_BROADCAST_DAILY_QUOTA", "2")
    reset_settings()
    monkeypatch.setattr(push, "directory", fake_directory)
    monkeypatch.setattr(push, "schedule", lambda push_id, cursor: None)
    client = make_app("notify").test_client()
    assert [client.post("/pushes", json=broadcast(f"all-{i:04d}"), headers=downstream()).status_code
            for i in range(2)] == [202, 202]
    refused = client.post("/pushes", json=broadcast("all-0002"), headers=downstream())
    assert refused.status_code == 429
    assert refused.get_json()["message"] == "今日推送给全部单位的次数已达上限（每个发送方每日2次），请明日再试"
    # A retry of an accepted broadcast is still answered, and counts nothing.
    assert client.post("/pushes", json=broadcast("all-0001"), headers=downstream()).status_code == 200
    # Single pushes are not broadcasts; another sender has its own quota.
    assert client.post("/pushes", json=body(client_key="one-0001"), headers=downstream()).status_code == 202
    assert client.post("/pushes", json=broadcast("all-0002"), headers=downstream("hr-system")).status_code == 202
    listed = client.get("/pushes", headers=center()).get_json()
    assert sorted(p["client_key"] for p in listed["items"] if p["target"] == "all") == [
        "all-0000", "all-0001", "all-0002"]  # the refused one was not stored


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_daily_quota_is_exact_under_simultaneous_broadcasts(
        monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, database: str) -> None:
    """Ten broadcasts of one sender at once with a quota of three: exactly three are accepted and stored
    (on PostgreSQL too, where the transactions really run side by side)."""
    if database == "postgresql":
        monkeypatch.setenv("HALL_NOTIFY_DATABASE_URL", request.getfixturevalue("postgres_url"))
    monkeypatch.setenv("HALL_PUSH_BROADCAST_DAILY_QUOTA", "3")
    reset_settings()
    monkeypatch.setattr(push, "directory", fake_directory)
    monkeypatch.setattr(push, "schedule", lambda push_id, cursor: None)
    app = make_app("notify")
    assert app.config["DATABASE_URL"].startswith(database)
    headers = downstream()

    def send(i: int) -> int:
        return int(app.test_client().post("/pushes", json=broadcast(f"all-{i:04d}"), headers=headers).status_code)

    statuses = at_once([lambda i=i: send(i) for i in range(10)])  # type: ignore[misc]
    assert sorted(statuses) == [202] * 3 + [429] * 7, statuses
    listed = app.test_client().get("/pushes", headers=center()).get_json()
    assert listed["total"] == 3


# -- a sender's own pushes -------------------------------------------------------------------------------

def test_a_downstream_system_reads_the_status_of_its_own_pushes_only(app: Flask) -> None:
    client = app.test_client()
    mine = client.post("/pushes", json=body(target="list", employer_nos=[A, B]), headers=downstream()).get_json()
    theirs = client.post("/pushes", json=body(), headers=downstream("hr-system")).get_json()
    staff = client.post("/pushes", json=body(), headers=center()).get_json()
    state = client.get(f"/pushes/{mine['push']['id']}", headers=downstream())
    assert state.status_code == 200
    assert (state.get_json()["status"], state.get_json()["stored"]) == ("done", 2)
    for other in (theirs, staff):
        refused = client.get(f"/pushes/{other['push']['id']}", headers=downstream())
        assert refused.status_code == 404 and refused.get_json()["message"] == "推送记录不存在"
    listed = client.get("/pushes", headers=downstream()).get_json()
    assert (listed["total"], [p["id"] for p in listed["items"]]) == (1, [mine["push"]["id"]])
    # Center staff with the push permission see every push; without it none.
    assert client.get("/pushes", headers=center()).get_json()["total"] == 3
    no_push = auth(token_for("center", None, perms=("audit",)))
    assert client.get(f"/pushes/{mine['push']['id']}", headers=no_push).status_code == 403


def test_a_broadcasts_progress_is_visible_to_its_sender(app: Flask) -> None:
    client = app.test_client()
    sent = client.post("/pushes", json=broadcast("all-0001"), headers=downstream()).get_json()["push"]
    with app.app_context():
        cursor: str | None = ""
        while cursor is not None:
            cursor = push.store_batch(sent["id"], cursor)
    state = client.get(f"/pushes/{sent['id']}", headers=downstream()).get_json()
    assert (state["status"], state["stored"]) == ("done", len(DIRECTORY))
