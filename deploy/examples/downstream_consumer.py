"""An example reader of the hall's downstream stream (docs/events.md, "Downstream stream").

It reads with a consumer group, stores each event once in a local SQLite file keyed by the event id,
and acknowledges (XACK) an entry only after its event is stored. Killed at any instant and started
again under the same consumer name, it first reads its own pending entries (delivered, not yet
acknowledged), so nothing is lost; an entry it had stored but not acknowledged is stored again as a
no-op (the id is the key), so nothing is stored twice. Entries a consumer of the same group left
pending for longer than ``--claim-idle`` seconds (it died for good) are claimed with XAUTOCLAIM.

    python deploy/examples/downstream_consumer.py --redis redis://127.0.0.1:6391/0 \\
        --group accounting --consumer accounting-1 --db var/accounting-events.sqlite3 [--types payment.]

Only the standard library and redis-py: copy it into another system as a starting point.
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import sys
import time
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    source TEXT NOT NULL,
    subject TEXT,
    time TEXT NOT NULL,
    schemaversion TEXT,
    data TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    stored_at REAL NOT NULL
)
"""


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Store the hall's downstream events in SQLite, each once.")
    parser.add_argument("--redis", default="redis://127.0.0.1:6391/0")
    parser.add_argument("--stream", default="hall:downstream")
    parser.add_argument("--group", required=True)
    parser.add_argument("--consumer", required=True)
    parser.add_argument("--db", required=True, help="the SQLite file")
    parser.add_argument("--types", nargs="*", default=[],
                        help="store only types starting with one of these (others are acknowledged unstored)")
    parser.add_argument("--count", type=int, default=100, help="entries per read")
    parser.add_argument("--block-ms", type=int, default=1000)
    parser.add_argument("--claim-idle", type=float, default=300.0)
    parser.add_argument("--exit-when-idle", action="store_true", help="stop once nothing is left to read")
    return parser.parse_args(argv)


class Consumer:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.redis = Redis.from_url(options.redis, decode_responses=True)
        # A long lock timeout: another reader of the file (a report) must not crash the consumer.
        self.db = sqlite3.connect(options.db, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(SCHEMA)
        self.db.commit()
        self.running = True

    def ensure_group(self) -> None:
        try:
            # "0": a new group starts at the oldest entry the stream still keeps.
            self.redis.xgroup_create(self.options.stream, self.options.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def run(self) -> None:
        self.ensure_group()
        # Our own pending entries first: what we read before a crash and did not acknowledge.
        while self.running and self.handle(self.read("0", block=None)):
            pass
        while self.running:
            claimed = self.claim_abandoned()
            entries = self.read(">", block=self.options.block_ms)
            self.handle(entries)
            if not entries and not claimed and self.options.exit_when_idle:
                return

    def read(self, start: str, block: int | None) -> list[tuple[str, dict[str, str]]]:
        # RESP2's shape, [[stream, [(id, fields), ...]]], the client's default.
        answer: Any = self.redis.xreadgroup(self.options.group, self.options.consumer, {self.options.stream: start},
                                            count=self.options.count, block=block)
        return list(answer[0][1]) if answer else []

    def claim_abandoned(self) -> int:
        answer: Any = self.redis.xautoclaim(self.options.stream, self.options.group, self.options.consumer,
                                            min_idle_time=int(self.options.claim_idle * 1000), count=100)
        entries = list(answer[1])
        self.handle(entries)
        return len(entries)

    def handle(self, entries: list[tuple[str, dict[str, str]]]) -> int:
        """Store the entries' events in one transaction, then acknowledge them; the number handled."""
        entries = [(entry_id, fields) for entry_id, fields in entries if fields]  # trimmed away meanwhile
        if not entries:
            return 0
        rows = [self.row(entry_id, fields) for entry_id, fields in entries if self.wanted(fields)]
        with self.db:
            # The event id is the key: a redelivery, or the hall publishing an event twice, stores nothing.
            self.db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                                rows)
        self.redis.xack(self.options.stream, self.options.group, *[entry_id for entry_id, _ in entries])
        return len(entries)

    def wanted(self, fields: dict[str, str]) -> bool:
        return not self.options.types or fields.get("type", "").startswith(tuple(self.options.types))

    @staticmethod
    def row(entry_id: str, fields: dict[str, str]) -> tuple[Any, ...]:
        event = json.loads(fields["event"])
        return (event["id"], event["type"], event["source"], event.get("subject"), event["time"],
                event.get("schemaversion"), json.dumps(event["data"], ensure_ascii=False), entry_id, time.time())

    def stop(self, *_: Any) -> None:
        self.running = False


def main(argv: list[str]) -> int:
    consumer = Consumer(arguments(argv))
    signal.signal(signal.SIGTERM, consumer.stop)
    consumer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
