"""The downstream stream on a real Redis: the relay publishes one event of every catalog type (and an
event the receipt check publishes again), and the example consumer, killed with SIGKILL between
storing and acknowledging, stores every type exactly once after its restart."""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from redis import Redis
from sqlalchemy import select

from hall_common import db, downstream, event_schemas, outbox, receipts
from hall_common.runtime import get_runtime
from hall_common.settings import get_settings, reset_settings

from .conftest import make_app
from .event_fakes import Sent
from .homecache_support import RedisServer, wait_until

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "deploy" / "examples" / "downstream_consumer.py"
GROUP = "accounting"


def _reset_clients() -> None:
    reset_settings()
    receipts.reset_client()
    downstream.reset_client()


@pytest.fixture
def redis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    server = RedisServer(tmp_path)
    server.start()
    monkeypatch.setenv("HALL_REDIS_URL", server.url)
    _reset_clients()
    client = Redis.from_url(server.url, decode_responses=True)
    try:
        yield server.url, client
    finally:
        client.close()
        server.stop()
        _reset_clients()


def emitter(type_: str) -> str:
    """The service that emits the type (the workflow emits the process events and the outcomes)."""
    if type_ in ("business.submitted", "business.resubmitted"):
        return "member"
    prefix = type_.split(".")[0]
    return prefix if prefix in ("employer", "member", "payment") else "workflow"


def publish_every_type(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Any]]:
    """Emit one event of each downstream type in its service and relay it: what a business day sends."""
    Sent(monkeypatch)  # the hall's own delivery to its services is not what is tested here
    by_service: dict[str, list[str]] = {}
    for type_ in event_schemas.downstream_types():
        by_service.setdefault(emitter(type_), []).append(type_)
    events: dict[str, dict[str, Any]] = {}
    for service, types in by_service.items():
        with make_app(service, seed=False).app_context():
            session = db.session()
            for type_ in types:
                events[type_] = outbox.emit(session, type_, event_schemas.example(type_), subject=f"{type_}/1")
            session.commit()
            assert outbox.relay() == len(types)
    return events


def republish_by_receipt_check(redis: Any, event: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A publish whose receipt went missing (as after an outage): the relay's check sends it again."""
    assert redis.delete(receipts.key(downstream.TARGET, event["id"])) == 1  # the publish wrote it
    with make_app(emitter(event["type"]), seed=False).app_context():
        session = db.session()
        model = get_runtime().plumbing.outbox
        row = session.scalars(select(model).where(model.event_id == event["id"])).one()
        row.check_at = db.utcnow() - timedelta(seconds=1)
        session.commit()
        outbox.relay(verify=True)
        assert row.resent == 1


def consumer(redis_url: str, db_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(CONSUMER), "--redis", redis_url, "--group", GROUP,
                             "--consumer", "c1", "--db", str(db_path), "--block-ms", "200", *extra], cwd=ROOT)


def stored(db_path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db_path) as connection:
        return list(connection.execute("SELECT id, type, data FROM events ORDER BY type"))


def pending(redis: Any) -> int:
    try:
        return int(redis.xpending(get_settings().downstream_stream, GROUP)["pending"])
    except Exception:  # no group yet
        return 0


def test_every_type_is_stored_exactly_once_across_a_sigkill(
        redis: tuple[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, client = redis
    stream = get_settings().downstream_stream
    events = publish_every_type(monkeypatch)
    republish_by_receipt_check(client, events["member.sealed"], monkeypatch)
    types = event_schemas.downstream_types()
    entries = client.xrange(stream)
    assert len(entries) == len(types) + 1  # member.sealed twice: at least once, never lost
    assert sorted(fields["type"] for _, fields in entries) == sorted([*types, "member.sealed"])

    # The consumer reads 5 entries and waits for the SQLite file a test "report" holds locked.
    db_path = tmp_path / "accounting.sqlite3"
    spec = importlib.util.spec_from_file_location("downstream_consumer", CONSUMER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("PRAGMA journal_mode=WAL")
    lock.execute(module.SCHEMA)
    lock.execute("BEGIN IMMEDIATE")
    first = consumer(url, db_path, "--count", "5")
    try:
        wait_until(lambda: pending(client) == 5, "the consumer read 5 entries")
        # Its XACK will hang (writes paused) after it stored them: killed between storing and acknowledging.
        client.client_pause(30_000, all=False)
        lock.execute("COMMIT")
        wait_until(lambda: len(stored(db_path)) == 5, "the consumer stored its 5 entries")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    finally:
        client.client_unpause()
        lock.close()
        if first.poll() is None:
            first.kill()
    assert pending(client) == 5 and len(stored(db_path)) == 5

    second = consumer(url, db_path, "--count", "5", "--exit-when-idle")
    assert second.wait(60) == 0
    rows = stored(db_path)
    assert sorted(type_ for _, type_, _ in rows) == sorted(types)  # each type once, the duplicate too
    assert {event_id for event_id, _, _ in rows} == {event["id"] for event in events.values()}
    for _, type_, data in rows:
        jsonschema_rs.validate(event_schemas.data_schema(type_), __import__("json").loads(data))
    assert pending(client) == 0

    # Restarted again with nothing new: nothing is stored twice.
    assert consumer(url, db_path, "--exit-when-idle").wait(60) == 0
    assert len(stored(db_path)) == len(types)


def test_the_stream_keeps_its_bound_whatever_its_readers_do(
        redis: tuple[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    url, client = redis
    monkeypatch.setenv("HALL_DOWNSTREAM_MAXLEN", "1000")
    _reset_clients()
    stream = get_settings().downstream_stream
    client.xgroup_create(stream, "slow-reader", id="0", mkstream=True)  # reads nothing, ever
    example = event_schemas.example("member.sealed")
    batch = [{"specversion": "1.0", "id": f"e{n}", "source": "/hall/member", "type": "member.sealed",
              "time": "2026-12-03T06:00:00.000Z", "data": example} for n in range(3000)]
    assert downstream.publish(batch) == 3000
    # MAXLEN ~ trims whole nodes of 100 entries: about the bound, far below what was published.
    assert 1000 <= client.xlen(stream) <= 1100
    assert client.xrevrange(stream, count=1)[0][1]["id"] == "e2999"


def test_an_event_missed_while_the_stream_was_down_is_published_by_the_receipt_check(
        redis: tuple[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    url, client = redis
    monkeypatch.setenv("HALL_DOWNSTREAM_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing answers there
    _reset_clients()
    sent = Sent(monkeypatch)
    app = make_app("payment", seed=False)
    with app.app_context():
        session = db.session()
        event = outbox.emit(session, "payment.supplemented", event_schemas.example("payment.supplemented"))
        session.commit()
        assert outbox.relay() == 1
        assert len(sent.messages) == 1  # the hall's own delivery went on
        receipts.confirm("notify", event["id"])

        monkeypatch.setenv("HALL_DOWNSTREAM_REDIS_URL", url)
        _reset_clients()
        model = get_runtime().plumbing.outbox
        row = session.scalars(select(model)).one()
        row.check_at = db.utcnow() - timedelta(seconds=1)
        session.commit()
        outbox.relay(verify=True)
    entries = client.xrange(get_settings().downstream_stream)
    assert [fields["id"] for _, fields in entries] == [event["id"]]
    assert len(sent.messages) == 1  # notify had confirmed: only the stream got it again


def test_a_reader_of_some_types_acknowledges_the_rest_and_takes_over_a_dead_consumers_entries(
        redis: tuple[str, Any], tmp_path: Path) -> None:
    url, client = redis
    stream = get_settings().downstream_stream
    types = event_schemas.downstream_types()
    batch = [{"specversion": "1.0", "id": f"e-{type_}", "source": "/hall/x", "type": type_,
              "time": "2026-12-03T06:00:00.000Z", "data": event_schemas.example(type_)} for type_ in types]
    assert downstream.publish(batch) == len(types)
    client.xgroup_create(stream, GROUP, id="0")
    # Another consumer of the group read three entries and died for good.
    taken = client.xreadgroup(GROUP, "dead", {stream: ">"}, count=3)[0][1]
    db_path = tmp_path / "payments.sqlite3"
    run = consumer(url, db_path, "--types", "payment.", "member.sealed", "--claim-idle", "0.05", "--exit-when-idle")
    assert run.wait(60) == 0
    assert sorted(type_ for _, type_, _ in stored(db_path)) == sorted(
        [t for t in types if t.startswith("payment.")] + ["member.sealed"])
    assert pending(client) == 0  # the dead consumer's entries and the unwanted types acknowledged too
    assert len(taken) == 3
