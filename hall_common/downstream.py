"""The downstream event stream: every domain and process event of the catalog, as CloudEvents JSON, on
one Redis Stream that systems outside the hall (core accounting, banks, statistics) read with consumer
groups of their own.

The relay publishes after the commit that marked the outbox rows published, in one pipeline of
``XADD ... MAXLEN ~ n`` (the stream keeps about the newest ``downstream_maxlen`` entries whatever its
readers do, so a slow or absent reader never grows it without bound nor holds the hall back). A
successful XADD writes a receipt ``hall:receipt:downstream:<event id>`` like a consumer's; the relay's
receipt check (outbox.py) publishes an event again when its receipt is missing, so an unavailable
stream costs a delay, never the hall's own delivery: every failure here is logged and swallowed, and
the client's timeouts are short. An event may therefore appear twice; readers key on its ``id``.

Each entry has the fields ``type`` (so a reader can skip types without parsing), ``id`` and ``event``
(the CloudEvent: the hall's event plus ``dataschema``, the URN of its data's JSON Schema in
hall_common/event_schemas.py, and the extension ``schemaversion``). See docs/events.md.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from redis import Redis

from . import event_schemas, receipts
from .settings import get_settings

log = logging.getLogger(__name__)
TARGET = "downstream"  # the receipt's service name
# A failure is logged once per this many seconds: an outage must not flood the log on every pass.
LOG_EVERY = 60.0
_last_logged = [0.0]


def enabled() -> bool:
    return bool(get_settings().downstream_stream)


def carries(event: dict[str, Any]) -> bool:
    entry = event_schemas.CATALOG.get(event.get("type", ""))
    return enabled() and entry is not None and entry.downstream


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The CloudEvent as published downstream: the hall's event with its schema's URN and version."""
    type_ = event["type"]
    return {**event, "dataschema": event_schemas.schema_uri(type_),
            "schemaversion": str(event_schemas.spec(type_).version)}


@lru_cache(maxsize=1)
def _client() -> Redis:
    settings = get_settings()
    # Short timeouts: the relay thread (and the worker's relay after each event) waits at most this long.
    return Redis.from_url(settings.downstream_redis_url or settings.redis_url,
                          socket_connect_timeout=0.5, socket_timeout=0.5)


def reset_client() -> None:
    _client.cache_clear()


def publish(events: Iterable[dict[str, Any]]) -> int:
    """XADD the catalog's downstream events; the number published. Never raises."""
    chosen = [event for event in events if carries(event)]
    if not chosen:
        return 0
    settings = get_settings()
    try:
        pipeline = _client().pipeline(transaction=False)
        for event in chosen:
            pipeline.xadd(settings.downstream_stream,
                          {"type": event["type"], "id": event["id"],
                           "event": json.dumps(envelope(event), ensure_ascii=False)},
                          maxlen=settings.downstream_maxlen, approximate=True)
        if not settings.downstream_redis_url:
            # The stream is on the hall's Redis: its receipts go in the same round trip (make bench).
            for event in chosen:
                pipeline.set(receipts.key(TARGET, event["id"]), 1, ex=receipts.KEEP_SECONDS)
        pipeline.execute()
    except Exception:
        _log_failure("downstream stream %s unavailable: %d event(s) wait for the relay's receipt check",
                     settings.downstream_stream, len(chosen))
        return 0
    if settings.downstream_redis_url:
        # Best effort: without them the receipt check publishes again, a duplicate the readers drop.
        receipts.confirm_many(TARGET, [event["id"] for event in chosen])
    return len(chosen)


def _log_failure(message: str, *args: Any) -> None:
    now = time.monotonic()
    if now - _last_logged[0] >= LOG_EVERY:
        _last_logged[0] = now
        log.warning(message, *args, exc_info=True)
