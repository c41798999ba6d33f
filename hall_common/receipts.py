"""Delivery receipts: a consumer notes in Redis each event it has finished with (processed, a
duplicate, or parked as a dead letter); the emitting service's relay sends an event again to every
subscriber whose receipt is still missing some time after publishing.

Redis with an append-only file keeps queued messages across a restart, but a message can still be
lost around an outage: the last second of writes before a crash, or a message a worker popped in
the instant the server stopped (kombu pops first and records the unacknowledged copy after). The
receipt closes that gap from the emitter's side; a receipt lost the same way only costs a duplicate,
which the consumer drops.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from redis import Redis

from .settings import get_settings

log = logging.getLogger(__name__)
KEEP_SECONDS = 7 * 24 * 3600


@lru_cache(maxsize=1)
def _client() -> Redis:
    return Redis.from_url(get_settings().redis_url, socket_connect_timeout=3, socket_timeout=5)


def key(service: str, event_id: str) -> str:
    return f"hall:receipt:{service}:{event_id}"


def confirm(service: str, event_id: str) -> None:
    """Best effort: without the receipt the event is only delivered once more."""
    try:
        _client().set(key(service, event_id), 1, ex=KEEP_SECONDS)
    except Exception:
        log.warning("receipt of event %s not written; it will be delivered again", event_id, exc_info=True)


def confirm_many(service: str, event_ids: list[str]) -> None:
    """The receipts of a batch's events in one round trip (best effort, as ``confirm``)."""
    if not event_ids:
        return
    try:
        pipeline = _client().pipeline(transaction=False)
        for event_id in event_ids:
            pipeline.set(key(service, event_id), 1, ex=KEEP_SECONDS)
        pipeline.execute()
    except Exception:
        log.warning("receipts of events %s not written; they will be delivered again", event_ids, exc_info=True)


def missing(pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (service, event id) pairs with no receipt."""
    if not pairs:
        return set()
    found = _client().mget([key(service, event_id) for service, event_id in pairs])
    return {pair for pair, value in zip(pairs, found, strict=True) if value is None}


def reset_client() -> None:
    _client.cache_clear()
