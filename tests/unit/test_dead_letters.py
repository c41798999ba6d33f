"""No event dropped in silence: the relay keeps unrouted events, a failing event ends as a dead letter
after bounded retries, and the center retries a dead letter exactly once."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from pydantic import ValidationError as SettingsError
from sqlalchemy import select

from hall_common import db, dead_letters, limits, outbox
from hall_common.celery_app import get_celery, get_heavy_celery
from hall_common.consumer import consume
from hall_common.events import make_event
from hall_common.runtime import get_runtime
from hall_common.settings import Settings
from hall_common.tasks import backoff, retry_or_bury

from ..threads import at_once
from .conftest import make_app
from .event_fakes import FakeRedis, FakeTask, Sent, dead_letters_of


def _outbox_rows(app: Flask) -> dict[str, Any]:
    with app.app_context():
        model = get_runtime().plumbing.outbox
        return {r.type: r.published_at for r in db.session().scalars(select(model))}


def test_the_relay_keeps_an_unrouted_event_and_relays_the_ones_behind_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app("employer", seed=False)
    sent = Sent(monkeypatch)
    with app.app_context(), caplog.at_level(logging.ERROR, logger="hall_common.outbox"):
        session = db.session()
        outbox.emit(session, "employer.renamed", {"employer_no": "100100001"})
        outbox.emit(session, "business.approved", {"business_type": "x", "business_id": "1"})  # no owner
        outbox.emit(session, "business.submitted", {"business_type": "employer_change", "business_id": "7"})
        session.commit()
        assert outbox.relay() == 1
        assert outbox.relay() == 0
    assert [(name, queue) for name, _, queue in sent.messages] == [("workflow.handle_event", "workflow")]
    rows = _outbox_rows(app)
    assert rows["business.submitted"] is not None
    assert rows["employer.renamed"] is None and rows["business.approved"] is None
    errors = [r.getMessage() for r in caplog.records]
    assert len(errors) == 2  # once per event, not once per relay pass
    assert "employer.renamed" in errors[0] and "no route in events.ROUTES" in errors[0]
    assert "business.approved" in errors[1] and "not services" in errors[1]


def test_a_failing_event_is_retried_with_backoff_then_parked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_EVENT_MAX_RETRIES", "3")
    app = make_app("workflow", seed=False)
    poisoned = make_event("employer", "business.submitted", {
        "business_type": "no_such_business", "business_id": "1", "owner": "employer", "title": "测试",
        "employer_no": "100100001",
    })
    first_failed = None
    with app.app_context():
        for retries in range(3):
            task = FakeTask(retries)
            try:
                consume(poisoned)
            except Exception as exc:
                with pytest.raises(RuntimeError, match="retry scheduled"):
                    retry_or_bury(task, poisoned, exc, first_failed)  # type: ignore[arg-type]
            (options,) = task.retried
            assert 0 < options["countdown"] <= min(30, 2 * 2**retries)
            first_failed = options["kwargs"]["first_failed_at"]
            assert dead_letters_of(app) == []
        try:
            consume(poisoned)
        except Exception as exc:
            assert retry_or_bury(FakeTask(3), poisoned, exc, first_failed) == "dead"  # type: ignore[arg-type]
    (row,) = dead_letters_of(app)
    assert (row.event_id, row.type, row.status, row.attempts) == (poisoned["id"], "business.submitted", "dead", 4)
    assert "no_such_business 没有已部署的审批流程" in row.last_error
    assert row.first_failed_at == datetime.fromisoformat(first_failed)
    assert json.loads(row.payload) == poisoned


def test_an_unhandled_or_invalid_event_is_parked_at_once() -> None:
    app = make_app("payment", seed=False)
    unhandled = make_event("employer", "employer.info_changed", {"employer_no": "100100001"})
    with app.app_context():
        for event in (unhandled, {"type": "not a cloud event"}):
            try:
                consume(event)
            except Exception as exc:
                assert retry_or_bury(FakeTask(0), event, exc, None) == "dead"  # type: ignore[arg-type]
    first, second = dead_letters_of(app)
    assert first.attempts == 1 and "payment service has no handler for employer.info_changed" in first.last_error
    assert second.event_id.startswith("invalid-") and "InvalidEvent" in second.last_error


def test_a_retry_that_cannot_be_published_parks_the_event_instead_of_dropping_it() -> None:
    app = make_app("notify", seed=False)
    event = make_event("employer", "employer.info_changed", {"employer_no": "100100001"})  # fields missing
    with app.app_context():
        try:
            consume(event)
        except Exception as exc:
            assert retry_or_bury(FakeTask(0, publish_fails=True), event, exc, None) == "dead"  # type: ignore[arg-type]
    (row,) = dead_letters_of(app)
    assert row.status == "dead" and "KeyError" in row.last_error


def test_backoff_doubles_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_EVENT_RETRY_BACKOFF", "2")
    monkeypatch.setenv("HALL_EVENT_RETRY_BACKOFF_MAX", "30")
    from hall_common.settings import reset_settings

    reset_settings()
    for attempt, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (12, 30)]:
        delays = [backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (attempt, delays)


def _park(app: Flask, event: dict[str, Any]) -> int:
    with app.app_context():
        dead_letters.bury(event, "KeyError: 'employer_name'", 9, datetime(2026, 11, 28, 8, 0))
        return int(dead_letters_of(app)[-1].id)


def _info_changed(**data: Any) -> dict[str, Any]:
    return make_event("employer", "employer.info_changed", data)


def test_ten_simultaneous_retries_send_the_dead_letter_once(
    monkeypatch: pytest.MonkeyPatch, center_headers: dict[str, str]
) -> None:
    app = make_app("notify", seed=False)
    sent = Sent(monkeypatch)
    event = _info_changed(employer_no="100100001", employer_name="太原市示例科技有限公司",
                          business_type="employer_change", business_id="5", title="单位信息变更")
    dead_id = _park(app, event)

    def click() -> tuple[int, str]:
        response = app.test_client().post(f"/dead-letters/{dead_id}/retry", headers=center_headers)
        return response.status_code, response.get_json()["message"]

    answers = at_once([click] * 10)
    assert sorted(answers) == [(200, "已重新投递")] + [(409, dead_letters.ALREADY_RETRIED)] * 9
    assert sent.messages == [("notify.handle_event", event, "notify")]
    listed = app.test_client().get("/dead-letters", headers=center_headers).get_json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["status"], item["retry_count"], item["retried_by"]) == ("retrying", 1, "中心审核员李明")
    # The worker delivers the sent message: processed, and the dead letter is done.
    with app.app_context():
        assert consume(event) == "processed"
    assert app.test_client().get("/dead-letters", headers=center_headers).get_json()["total"] == 0
    resolved = app.test_client().get("/dead-letters?status=resolved", headers=center_headers).get_json()
    assert resolved["items"][0]["status"] == "resolved" and resolved["items"][0]["resolved_at"]
    again = app.test_client().post(f"/dead-letters/{dead_id}/retry", headers=center_headers)
    assert again.status_code == 409 and again.get_json()["message"] == "该事件已处理完成"


def test_a_retry_while_redis_is_down_says_so_and_can_be_clicked_again(
    monkeypatch: pytest.MonkeyPatch, center_headers: dict[str, str]
) -> None:
    app = make_app("notify", seed=False)
    sent = Sent(monkeypatch, fail=True)
    dead_id = _park(app, _info_changed(employer_no="100100001"))
    client = app.test_client()
    down = client.post(f"/dead-letters/{dead_id}/retry", headers=center_headers)
    assert down.status_code == 503 and down.get_json()["message"] == "消息队列暂不可用，请稍后重新投递"
    sent.fail = False
    assert client.post(f"/dead-letters/{dead_id}/retry", headers=center_headers).status_code == 200
    assert len(sent.messages) == 1


def test_dead_letters_are_for_center_staff_only(
    employer_headers: dict[str, str], center_headers: dict[str, str]
) -> None:
    app = make_app("employer", seed=False)
    client = app.test_client()
    assert client.get("/dead-letters").status_code == 401
    assert client.get("/dead-letters", headers=employer_headers).status_code == 403
    assert client.post("/dead-letters/1/retry", headers=employer_headers).status_code == 403
    assert client.post("/dead-letters/1/retry", headers=center_headers).status_code == 404
    assert client.get("/dead-letters?status=lost", headers=center_headers).status_code == 422


def test_event_queues_have_a_short_visibility_timeout_and_heavy_jobs_their_own() -> None:
    events = get_celery().conf
    heavy = get_heavy_celery().conf
    assert events.task_acks_late and events.task_reject_on_worker_lost
    assert events.broker_transport_options["visibility_timeout"] == 60
    assert events.broker_transport_options["unacked_restore_throttle"] == 1
    assert heavy.broker_transport_options["visibility_timeout"] == 3600
    assert heavy.broker_transport_options["unacked_index_key"] != "unacked_index"  # kombu's default key
    # A killed job's message is looked for as often as an event's, not every 100 s (kombu's default).
    assert heavy.broker_transport_options["unacked_restore_throttle"] == 1
    assert heavy.task_default_queue == "heavy"


def test_a_retry_may_not_wait_longer_than_the_visibility_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_EVENT_VISIBILITY_TIMEOUT", "20")
    monkeypatch.setenv("HALL_EVENT_RETRY_BACKOFF_MAX", "30")
    with pytest.raises(SettingsError, match="HALL_EVENT_RETRY_BACKOFF_MAX"):
        Settings()


def test_the_dead_letter_page_is_for_a_center_session() -> None:
    from gateway import create_app

    client = create_app().test_client()
    page = client.get("/admin/dead-letters")
    assert page.status_code == 302 and "/admin/login" in page.headers["Location"]
    assert client.post("/admin/dead-letters/workflow/1/retry").status_code == 400  # no CSRF token


def test_an_event_without_its_consumers_receipts_is_sent_again_to_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from hall_common import receipts

    fake = FakeRedis()
    # receipts' own name only: patching redis.Redis itself would hand the fake to every Redis user
    # (the push rate limiter's storage among them).
    monkeypatch.setattr(receipts, "Redis", SimpleNamespace(from_url=lambda *args, **kwargs: fake))
    receipts.reset_client()
    app = make_app("employer", seed=False)
    sent = Sent(monkeypatch)
    with app.app_context():
        session = db.session()
        event = outbox.emit(session, "employer.info_changed", {"employer_no": "100100001"})
        session.commit()
        assert outbox.relay(verify=True) == 1
        model = get_runtime().plumbing.outbox
        row = session.scalars(select(model)).one()
        assert row.check_at - row.published_at == timedelta(seconds=300)  # HALL_EVENT_CONFIRM_AFTER
        outbox.relay(verify=True)
        assert len(sent.messages) == 1  # not due yet

        # Due, and notify never confirmed (its message was lost around a Redis restart): sent again.
        row.check_at = db.utcnow() - timedelta(seconds=1)
        session.commit()
        outbox.relay(verify=True)
        assert [(name, e["id"]) for name, e, _ in sent.messages] == [("notify.handle_event", event["id"])] * 2
        assert row.resent == 1 and row.check_at > db.utcnow() + timedelta(seconds=590)
        # The copy is marked: the consumer counts its first delivery against the event (limits.worn_out).
        assert sent.headers == [None, {limits.RESENT: 1}]

        # Confirmed by the consumer (and by the downstream stream, unavailable here): checked once more,
        # then never again.
        receipts.confirm("notify", event["id"])
        receipts.confirm("downstream", event["id"])
        row.check_at = db.utcnow() - timedelta(seconds=1)
        session.commit()
        outbox.relay(verify=True)
        assert len(sent.messages) == 2 and row.check_at is None
