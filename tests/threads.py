"""Work started on many threads at the same instant, for the once-only (race) tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

# Only a guard against a hung thread: its missing result then fails the test's assertions.
JOIN_SECONDS = 120


def at_once(work: list[Callable[[], Any]], app: Flask | None = None) -> list[Any]:
    """Call each callable on its own thread (in its own context of app, if given), all released together
    by a barrier; their results in the order of work. An exception is returned as the result, so that the
    assertions report it instead of it being lost on its thread."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work[index]()
        except Exception as exc:  # reported by the assertions
            results[index] = exc

    def in_context(index: int) -> None:
        assert app is not None
        with app.app_context():
            run(index)

    threads = [threading.Thread(target=in_context if app else run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    return results
