"""One message per consuming service and relay pass: the events a transaction emitted for a service
travel together. The worker handles a message's events in one transaction; when one of them fails,
nothing of that is kept and each is handled on its own (own transaction, processed record, dead letter
and receipt): the failing event is retried alone and neither redoes nor loses its siblings."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import Reject
from flask import Flask
from sqlalchemy import func, select

from hall_common import db, dead_letters, outbox, receipts
from hall_common.events import make_event
from hall_common.runtime import get_runtime
from hall_common.tasks import handle_batch

from ..threads import at_once
from .conftest import make_app
from .event_fakes import FakeRedis, FakeTask, Sent, dead_letters_of


def _message(n: int, **extra: Any) -> dict[str, Any]:
    """An employer.info_changed event notify turns into an inbox message (``broken``: fields missing)."""
    data = {"employer_no": "100100001", "employer_name": "太原市示例科技有限公司", "business_type": "employer_change",
            "business_id": str(n), "title": "单位信息变更", **extra}
    return make_event("employer", "employer.info_changed", data)


def _broken() -> dict[str, Any]:
    return make_event("employer", "employer.info_changed", {"employer_no": "100100001"})  # KeyError in the handler


@pytest.fixture
def fake_redis(monkeypatch: pytest.MonkeyPatch) -> FakeRedis:
    fake = FakeRedis()
    # receipts' own name only: patching redis.Redis itself would hand the fake to every Redis user
    # (the push rate limiter's storage among them).
    monkeypatch.setattr(receipts, "Redis", SimpleNamespace(from_url=lambda *args, **kwargs: fake))
    monkeypatch.setattr(FakeRedis, "pipeline", lambda self, transaction=False: _Pipeline(self), raising=False)
    receipts.reset_client()
    return fake


class _Pipeline:
    def __init__(self, redis: FakeRedis) -> None:
        self.redis, self.commands = redis, 0

    def set(self, key: str, value: object, ex: int) -> None:
        self.redis.set(key, value, ex)
        self.commands += 1

    def publish(self, channel: str, body: str) -> None:  # notify's live notices; not receipts
        self.commands += 1
        self.redis.published = getattr(self.redis, "published", 0) + 1

    def execute(self) -> None:
        pass


def _receipts(fake: FakeRedis) -> set[str]:
    return {key.rsplit(":", 1)[1] for key in fake.store if key.startswith("hall:receipt:")}


def _processed(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session().scalars(select(get_runtime().plumbing.processed.event_id)))


def _inbox_count(app: Flask) -> int:
    from services.notify.models import InboxItem

    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(InboxItem)) or 0)


class _BatchTask(FakeTask):
    name = "notify.handle_event"


def test_the_events_of_one_pass_go_to_each_service_as_one_message_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app("workflow", seed=False)
    sent = Sent(monkeypatch)
    common = {"instance_id": 1, "business_type": "employer_change", "business_id": "7", "employer_no": "100100001"}
    with app.app_context():
        session = db.session()
        started = outbox.emit(session, "process.started", {**common, "seq": 1})
        created = outbox.emit(session, "task.created", {**common, "seq": 2})
        approved = outbox.emit(session, "business.approved", {**common, "seq": 3, "owner": "employer"})
        session.commit()
        assert outbox.relay() == 3
        assert outbox.relay() == 0
        alone = outbox.emit(session, "process.completed", {**common, "seq": 4})
        session.commit()
        assert outbox.relay() == 1
    assert sent.messages == [
        ("notify.handle_event", [started, created], "notify"),  # typed: a list, in emission order
        ("employer.handle_event", approved, "employer"),  # one event travels alone, as it always did
        ("notify.handle_event", alone, "notify"),
    ]


def test_a_backlog_is_cut_into_messages_of_at_most_batch_max_events(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app("employer", seed=False)
    sent = Sent(monkeypatch)
    with app.app_context():
        session = db.session()
        emitted = [outbox.emit(session, "employer.info_changed", {"employer_no": str(n)})
                   for n in range(outbox.BATCH_MAX * 2 + 1)]
        session.commit()
        assert outbox.relay() == len(emitted)
    sizes = [len(args) if isinstance(args, list) else 1 for _, args, _ in sent.messages]
    assert sizes == [outbox.BATCH_MAX, outbox.BATCH_MAX, 1]
    flat = [e for _, args, _ in sent.messages for e in (args if isinstance(args, list) else [args])]
    assert flat == emitted


def test_relays_racing_for_the_same_rows_send_each_row_once(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app("employer", seed=False)
    sent = Sent(monkeypatch)
    with app.app_context():
        session = db.session()
        emitted = [outbox.emit(session, "employer.info_changed", {"employer_no": str(n)}) for n in range(30)]
        session.commit()
    counts = at_once([outbox.relay] * 8, app)
    ids = [e["id"] for _, args, _ in sent.messages for e in (args if isinstance(args, list) else [args])]
    assert sorted(ids) == sorted(e["id"] for e in emitted)  # every event once, none twice
    assert sum(counts) == 30


def test_a_message_of_good_events_is_stored_in_one_transaction_and_a_redelivery_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, fake_redis: FakeRedis
) -> None:
    app = make_app("notify", seed=False)
    monkeypatch.setattr("services.notify.live.Redis.from_url", lambda *args, **kwargs: fake_redis)
    from services.notify import live

    live.reset_client()
    commits: list[int] = []
    monkeypatch.setattr("services.notify.live.notices", _counting(live.notices, commits))
    events = [_message(1), _message(2), _message(3)]
    assert handle_batch(_BatchTask(0), app, "notify", events) == "processed 3"  # type: ignore[arg-type]
    assert _inbox_count(app) == 3 and _processed(app) == {e["id"] for e in events}
    assert _receipts(fake_redis) == {e["id"] for e in events}
    # One commit: the open pages hear of the three messages once, with the count after all three.
    assert len(commits) == 1 and getattr(fake_redis, "published", 0) == 1

    again = handle_batch(_BatchTask(0), app, "notify", events)  # type: ignore[arg-type]
    assert again == "duplicate 3"
    assert _inbox_count(app) == 3


def _counting(function: Any, calls: list[int]) -> Any:
    def counted(*args: Any) -> Any:
        calls.append(1)
        return function(*args)
    return counted


def test_a_failing_event_is_retried_alone_and_its_siblings_are_done_once(
    monkeypatch: pytest.MonkeyPatch, fake_redis: FakeRedis
) -> None:
    app = make_app("notify", seed=False)
    sent = Sent(monkeypatch)
    first, broken, last = _message(1), _broken(), _message(2)
    outcome = handle_batch(_BatchTask(0), app, "notify", [first, broken, last])  # type: ignore[arg-type]
    assert outcome == "processed 2, retrying 1"
    assert _processed(app) == {first["id"], last["id"]}
    assert _inbox_count(app) == 2
    assert _receipts(fake_redis) == {first["id"], last["id"]}  # the retried one is not done yet
    (retry,) = sent.messages
    assert retry == ("notify.handle_event", broken, "notify")  # alone, not the batch again
    assert dead_letters_of(app) == []

    # The worker died before acknowledging: the broker delivers the whole message again.
    again = handle_batch(_BatchTask(0), app, "notify", [first, broken, last])  # type: ignore[arg-type]
    assert again == "duplicate 2, retrying 1"
    assert _inbox_count(app) == 2  # nothing redone


def test_an_event_that_cannot_succeed_is_parked_and_the_batch_goes_on(
    monkeypatch: pytest.MonkeyPatch, fake_redis: FakeRedis
) -> None:
    app = make_app("notify", seed=False)
    sent = Sent(monkeypatch)
    unhandled = make_event("employer", "employer.renamed", {"employer_no": "100100001"})
    first, last = _message(1), _message(2)
    outcome = handle_batch(_BatchTask(0), app, "notify", [first, unhandled, last])  # type: ignore[arg-type]
    assert outcome == "dead 1, processed 2"
    assert [(row.event_id, row.status) for row in dead_letters_of(app)] == [(unhandled["id"], "dead")]
    assert _receipts(fake_redis) == {first["id"], unhandled["id"], last["id"]}
    assert sent.messages == [] and _inbox_count(app) == 2


def test_a_retry_that_cannot_be_published_parks_the_event_and_the_batch_goes_on(
    monkeypatch: pytest.MonkeyPatch, fake_redis: FakeRedis
) -> None:
    app = make_app("notify", seed=False)
    Sent(monkeypatch, fail=True)
    first, broken, last = _message(1), _broken(), _message(2)
    outcome = handle_batch(_BatchTask(0), app, "notify", [first, broken, last])  # type: ignore[arg-type]
    assert outcome == "dead 1, processed 2"
    assert [row.event_id for row in dead_letters_of(app)] == [broken["id"]]


def test_when_neither_retry_nor_dead_letter_is_possible_the_batch_goes_back_to_its_queue(
    monkeypatch: pytest.MonkeyPatch, fake_redis: FakeRedis
) -> None:
    app = make_app("notify", seed=False)
    sent = Sent(monkeypatch, fail=True)
    bury = dead_letters.bury
    monkeypatch.setattr(dead_letters, "bury", _database_down)
    monkeypatch.setattr("hall_common.tasks.time.sleep", lambda seconds: None)
    first, broken, last = _message(1), _broken(), _message(2)
    with pytest.raises(Reject) as rejected:
        handle_batch(_BatchTask(0), app, "notify", [first, broken, last])  # type: ignore[arg-type]
    assert rejected.value.requeue
    assert _processed(app) == {first["id"]}  # kept: redelivered, it is a duplicate
    assert _receipts(fake_redis) == {first["id"]}
    # Redis and the database are back; the batch comes again.
    monkeypatch.setattr(dead_letters, "bury", bury)
    sent.fail = False
    assert handle_batch(_BatchTask(0), app, "notify", [first, broken, last]) == (  # type: ignore[arg-type]
        "duplicate 1, processed 1, retrying 1")
    assert _processed(app) == {first["id"], last["id"]}


def _database_down(*args: Any) -> None:
    raise ConnectionError("database is down")
