"""(3) One inbox page (消息, newest 10, as the home page asks for it) through the notify API, over an
employer whose box holds 10k, 100k and 1M rows (seeded straight into notify's database)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from deploy.stack import Stack

from .harness import Result, percentile, run_setup, stack_peaks

SIZES = (10_000, 100_000, 1_000_000)
REQUESTS = 200


def _page_times(stack: Stack, employer_no: str, token: str) -> dict[str, float]:
    url = f"{stack.url('notify')}/employers/{employer_no}/inbox/message"
    times = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        for n in range(REQUESTS + 10):
            started = time.perf_counter()
            response = client.get(url, params={"page": 1, "per_page": 10})
            elapsed = time.perf_counter() - started
            assert response.status_code == 200 and len(response.json()["items"]) == 10, response.text[:300]
            if n >= 10:  # the first few warm the connection and the database's cache
                times.append(elapsed * 1000)
    return {"p50_ms": round(percentile(times, 50), 2), "p99_ms": round(percentile(times, 99), 2)}


def run(stack: Stack) -> list[Result]:
    creds: dict[str, Any] = run_setup(stack, "employers", "1")
    employer_no, token = next(iter(creds["tokens"].items()))
    sizes: dict[str, dict[str, float]] = {}
    with stack_peaks(stack).measure() as memory:
        for rows in SIZES:
            seeded = run_setup(stack, "inbox", employer_no, str(rows))
            sizes[f"{rows:,} rows"] = {**_page_times(stack, employer_no, token), "seed_s": seeded["seeded_seconds"]}
    largest = sizes[f"{SIZES[-1]:,} rows"]
    return [Result(
        name="one inbox page over many rows (notify API)", unit="ms p99", ours=largest["p99_ms"],
        goal="p99 < 50 ms at 1,000,000 rows", met=largest["p99_ms"] < 50, peak_mb=memory["peak_mb"], sizes=sizes,
        details={"requests_per_size": REQUESTS, "employer_rows": "all rows in one employer's 消息 box"},
    )]
