"""Time limits of event handling in a solo Celery worker, and the count of an event's deliveries.

Celery's own soft and hard time limits are enforced by its prefork pool; the workers here run the
solo pool (deploy/workers.py), which ignores them. So the limits are the process's own timers: a
soft limit, a wall-clock alarm whose handler raises ``TimeLimitExceeded`` in the handler (a failed
attempt like any other: retried, then a dead letter); and a hard limit, a CPU-time timer whose signal
keeps its default action and ends the process even in the middle of one long C call (where no Python
handler runs). The worker unit then exits and its supervisor starts it again; the message, never
acknowledged, comes back marked as redelivered.

``worn_out`` counts those returns in Redis, so an event that kills its worker is parked after a few
deliveries instead of killing workers for ever (an out-of-memory kill counts the same way). The count
is per event id and consuming service, not per Celery message: the outbox relay sends an event without
a receipt again as a new message (outbox._resend_unconfirmed), and a count per message started again
with each copy, so a poison event could escape parking for good. A resent copy is marked with the
``RESENT`` header and its first delivery counts (the earlier copy may be the one killing workers); the
first delivery of an original message does not: no Redis round trip on the path of every event.
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
DELIVERY_KEEP_SECONDS = receipts.KEEP_SECONDS
# Marks a copy the outbox relay sends again for want of a receipt: its first delivery is counted.
RESENT = "hall_resent"


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


def counted(request: Any) -> bool:
    """Whether this delivery counts against its events: a message Redis handed back after its worker
    died, or the first delivery of a resent copy. A Celery retry of a resent copy carries its headers
    too, but it is a new attempt after a handled failure (counted by the retry policy), not a return."""
    if (getattr(request, "delivery_info", None) or {}).get("redelivered"):
        return True
    return bool(_header(request, RESENT)) and not getattr(request, "retries", 0)


def _header(request: Any, name: str) -> Any:
    # A worker puts a message's own headers on the request; Task.apply keeps them under ``headers``.
    return getattr(request, name, None) or (getattr(request, "headers", None) or {}).get(name)


def worn_out(service: str, request: Any, events: list[Any]) -> dict[str, int]:
    """The events of this delivery already delivered event_max_deliveries times before it (the first
    delivery of their original message included), with their counts; empty for a delivery that does
    not count."""
    if not counted(request):
        return {}
    ids = [e["id"] for e in events if isinstance(e, dict) and isinstance(e.get("id"), str)]
    limit = get_settings().event_max_deliveries
    return {event_id: n for event_id, n in delivered(service, ids).items() if n >= limit}


def delivery_key(service: str, event_id: str) -> str:
    return f"hall:deliveries:{service}:{event_id}"


def delivered(service: str, event_ids: list[str], client: Redis | None = None) -> dict[str, int]:
    """Count one more counted delivery of each event to the service, whichever message carried it (the
    original, its returns, resent copies); the counts, this one included. Empty when Redis cannot count
    (the broker is the same Redis: then nothing is delivered either)."""
    ids = list(dict.fromkeys(event_ids))  # an event twice in one message is one delivery of it
    if not ids:
        return {}
    try:
        redis = client or receipts._client()  # one connection pool per process, as the receipts
        pipeline = redis.pipeline(transaction=False)
        for event_id in ids:
            pipeline.incr(delivery_key(service, event_id))
            # Renewed at each count: the count outlives the resends (hourly at most) and the returns of
            # every copy, and a parked event's late copies still find it worn out.
            pipeline.expire(delivery_key(service, event_id), DELIVERY_KEEP_SECONDS)
        answers = pipeline.execute()
        return {event_id: int(count) for event_id, count in zip(ids, answers[::2], strict=True)}
    except Exception:  # counting is a safeguard: never the reason an event is not handled
        log.warning("could not count the deliveries of events %s", ids, exc_info=True)
        return {}


def forget(service: str, event_id: str) -> None:
    """Start an event's count again: the center sends a dead letter once more after fixing its cause,
    and that delivery gets the whole allowance (best effort: at worst it is parked again sooner)."""
    try:
        receipts._client().delete(delivery_key(service, event_id))
    except Exception:
        log.warning("could not reset the delivery count of event %s", event_id, exc_info=True)
