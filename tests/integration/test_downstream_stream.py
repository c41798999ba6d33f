"""The downstream stream on the real stack: two approved employer changes, handled by the real services
and workers, reach the example consumer (deploy/examples/downstream_consumer.py) as CloudEvents that
pass their schemas; the consumer is killed with SIGKILL between them and, restarted, stores every
event of the stream exactly once."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

from redis import Redis

from deploy.stack import Stack
from hall_common import event_schemas

from .downstream_support import STREAM, consumer, stored, stream_events
from .helpers import approve_change, employer_api, profile_values, wait_for

FLOW = {"business.submitted", "process.started", "task.created", "task.completed", "process.completed",
        "business.approved", "employer.info_changed"}


def approve_address(stack: Stack, address: str) -> None:
    employer = employer_api(stack)
    approve_change(stack, employer, {"address": address})
    wait_for(lambda: profile_values(employer)["address"] == address, what="the change applied")


def test_approved_changes_reach_the_downstream_reader_once_across_a_kill(stack: Stack, tmp_path: Path) -> None:
    redis: Any = Redis.from_url(stack.redis_url, decode_responses=True)
    # The stream may already hold what earlier tests published, some of it deliberately malformed (the
    # fuzz and resilience tests); the schemas are checked on what this test's businesses publish.
    before = {json.loads(fields["event"])["id"] for _, fields in redis.xrange(STREAM)}
    db_path = tmp_path / "statistics.sqlite3"
    first = consumer(stack, db_path)
    try:
        approve_address(stack, "山西省太原市小店区下游路1号")
        wait_for(lambda: {type_ for _, type_, _ in stored(db_path)} >= FLOW or None,
                 what="the first change's events stored downstream")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)

    # While the reader is down the hall goes on, and the stream keeps what it publishes.
    changed = sum(1 for e in stream_events(redis) if e["type"] == "employer.info_changed")
    approve_address(stack, "山西省太原市小店区下游路2号")
    wait_for(lambda: sum(1 for e in stream_events(redis) if e["type"] == "employer.info_changed") > changed or None,
             what="the second change's outcome published")

    assert consumer(stack, db_path, "--exit-when-idle").wait(60) == 0
    published = stream_events(redis)
    rows = stored(db_path)
    assert sorted(event_id for event_id, _, _ in rows) == sorted({e["id"] for e in published})
    assert len(rows) == len({e["id"] for e in published})  # every event once, a republished one too
    for event in (e for e in published if e["id"] not in before):
        assert event["dataschema"] == event_schemas.schema_uri(event["type"])
        assert event["schemaversion"] == "1"
        assert event_schemas.problems(event) == [], event
    addresses = [json.loads(data)["changes"][0]["new"] for _, type_, data in rows if type_ == "employer.info_changed"]
    assert {"山西省太原市小店区下游路1号", "山西省太原市小店区下游路2号"} <= set(addresses)
    assert not [e for e in published if e["type"] == "auth.session_revoked"]
