"""What the downstream stream's tests share: the example consumer (deploy/examples/downstream_consumer.py)
run as a separate process, what it stored, and the stream as the hall publishes it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from deploy.stack import ROOT, Stack

from .helpers import wait_for

STREAM = "hall:downstream"


def consumer(stack: Stack, db_path: Path, *extra: str, group: str = "statistics") -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(ROOT / "deploy" / "examples" / "downstream_consumer.py"),
                             "--redis", stack.redis_url, "--group", group, "--consumer", f"{group}-1",
                             "--db", str(db_path), "--block-ms", "200", *extra], cwd=ROOT)


def stored(db_path: Path, columns: str = "id, type, data") -> list[tuple[Any, ...]]:
    if not db_path.exists():
        return []
    with sqlite3.connect(db_path) as connection:
        try:
            return list(connection.execute(f"SELECT {columns} FROM events"))
        except sqlite3.OperationalError:  # the consumer has not made its table yet
            return []


def stream_events(redis: Any) -> list[dict[str, Any]]:
    return [json.loads(fields["event"]) for _, fields in redis.xrange(STREAM)]


class Tap:
    """The events the hall publishes on the stream from its creation on, read as they come (XRANGE after
    the last entry seen, outside any consumer group). The stream is shared with the tests before: an
    event already there, published again by the relay's receipt check, is not this test's."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        entries = redis.xrange(STREAM)
        self.before = {json.loads(fields["event"])["id"] for _, fields in entries}
        self.last = entries[-1][0] if entries else "0-0"
        self.seen: list[dict[str, Any]] = []

    def events(self) -> list[dict[str, Any]]:
        for entry_id, fields in self.redis.xrange(STREAM, min=f"({self.last}"):
            self.last = entry_id
            event = json.loads(fields["event"])
            if event["id"] not in self.before:
                self.seen.append(event)
        return self.seen

    def types(self) -> set[str]:
        return {event["type"] for event in self.events()}

    def wait(self, type_: str, **data: Any) -> dict[str, Any]:
        """The first event of the type whose data has these values, once published."""
        def find() -> dict[str, Any] | None:
            return next((e for e in self.events() if e["type"] == type_
                         and all(e["data"].get(k) == v for k, v in data.items())), None)

        return wait_for(find, timeout=60, what=f"{type_} {data} on the downstream stream")
