"""Time limits of event handling in a solo Celery worker, and the count of a message's deliveries.

Celery's own soft and hard time limits are enforced by its prefork pool; the workers here run the
solo pool (deploy/workers.py), which ignores them. So the limits are the process's own timers: a
soft limit, a wall-clock alarm whose handler raises ``TimeLimitExceeded`` in the handler (a failed
attempt like any other: retried, then a dead letter); and a hard limit, a CPU-time timer whose signal
keeps its default action and ends the process even in the middle of one long C call (where no Python
handler runs). The worker unit then exits and its supervisor starts it again; the message, never
acknowledged, comes back marked as redelivered. ``undeliverable`` counts those returns in Redis, so a
message that kills its worker is buried after a few deliveries instead of killing workers for ever (an
out-of-memory kill counts the same way). A first delivery is not counted: no Redis round trip on the
path of every event.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from redis import Redis

from . import receipts
from .settings import get_settings

log = logging.getLogger(__name__)
DELIVERY_KEEP_SECONDS = 24 * 3600


class TimeLimitExceeded(Exception):  # noqa: N818 - Celery's name for the same thing
    """The soft time limit of one event's handling passed."""


@contextmanager
def time_limited(soft: float | None = None, hard: float | None = None) -> Iterator[None]:
    """Run the block under the soft (wall-clock) and hard (CPU) limits; only the main thread can take
    signals, so elsewhere (a unit test's threads) the block runs unlimited."""
    settings = get_settings()
    # Within half the visibility timeout: an event still running then would go to a second worker.
    soft = min(settings.event_soft_time_limit, settings.event_visibility_timeout / 2) if soft is None else soft
    hard = settings.event_hard_time_limit if hard is None else hard
    if threading.current_thread() is not threading.main_thread():
        # Celery's solo pool runs tasks in the main thread: seen here, the worker runs otherwise.
        log.warning("event time limits need the main thread; %s runs without them", threading.current_thread().name)
        yield
        return

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise TimeLimitExceeded(f"事件处理超过{soft:g}秒，已中止")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, soft)
    signal.setitimer(signal.ITIMER_PROF, hard)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def undeliverable(service: str, request: Any) -> bool:
    """Whether this delivery of a message is one too many: it came back (Redis restored it, unacknowledged,
    after its worker died) event_max_deliveries - 1 times already."""
    if not (getattr(request, "delivery_info", None) or {}).get("redelivered"):
        return False
    return delivered(service, request.id, request.retries) >= get_settings().event_max_deliveries


def delivered(service: str, message_id: str | None, retries: int, client: Redis | None = None) -> int:
    """How many times this message (a retry is a message of its own) has been counted, this time
    included; 1 when Redis cannot tell (the broker is the same Redis: then nothing is delivered)."""
    if not message_id:
        return 1
    key = f"hall:deliveries:{service}:{message_id}:{retries}"
    try:
        redis = client or receipts._client()  # one connection pool per process, as the receipts
        pipeline = redis.pipeline(transaction=False)
        pipeline.incr(key)
        pipeline.expire(key, DELIVERY_KEEP_SECONDS)
        count, _ = pipeline.execute()
        return int(count)
    except Exception:  # counting is a safeguard: never the reason an event is not handled
        log.warning("could not count the deliveries of message %s", message_id, exc_info=True)
        return 1
