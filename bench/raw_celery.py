"""Baseline: raw Celery on the same Redis, one-way tasks through workers of the stack's shape (two solo
workers, deploy/workers.py).

Workers: ``celery -A bench.raw_celery worker -P solo -Q bench_raw``; sender: ``python -m bench.raw_celery N``
(the rate is from the first send until the worker has run the last task)."""

from __future__ import annotations

import json
import os
import sys
import time

from celery import Celery
from redis import Redis

BROKER = os.environ.get("BENCH_RAW_BROKER", "redis://127.0.0.1:6379/5")
COUNTER = "bench:raw_celery:done"

app = Celery("bench_raw", broker=BROKER)
app.conf.task_default_queue = "bench_raw"
app.conf.task_ignore_result = True
app.conf.worker_hijack_root_logger = False


_redis: list[Redis] = []


@app.task(name="bench.noop")
def noop(n: int) -> None:
    if not _redis:  # one connection per pool process, as any real task would keep
        _redis.append(Redis.from_url(BROKER))
    _redis[0].incr(COUNTER)


def main() -> None:
    from .harness import self_peak_mb

    count = int(sys.argv[1])
    redis = Redis.from_url(BROKER)
    redis.delete(COUNTER)
    noop.delay(-1)  # the worker's first task warms its pool; not timed
    while int(redis.get(COUNTER) or 0) < 1:
        time.sleep(0.01)
    redis.delete(COUNTER)
    started = time.perf_counter()
    for n in range(count):
        noop.delay(n)
    sent = time.perf_counter() - started
    deadline = time.monotonic() + 120
    while int(redis.get(COUNTER) or 0) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    done = int(redis.get(COUNTER) or 0)
    print(json.dumps({"per_second": done / elapsed, "send_per_second": count / sent, "done": done,
                      "peak_mb": self_peak_mb()}))


if __name__ == "__main__":
    main()
