"""The Celery applications: Redis carries events between services.

Events run on one queue per service with a short visibility timeout, so the event a killed worker
held is delivered again within about a minute. Redis keeps unacknowledged messages in one index per
set of transport keys and any consumer sweeping that index restores what is older than its own
timeout; a job that legitimately runs for long (an import, an interest settlement) must therefore not
share the event queues' keys. ``get_heavy_celery`` is that hook: the same broker, separate
unacknowledged-message keys, its own timeout (``HALL_HEAVY_VISIBILITY_TIMEOUT``) and queue
``HEAVY_QUEUE``, served by a worker process of its own built on that app (none exists yet: no heavy
job does). Jobs that can be cut into chunks of well under a minute may stay on the event queues.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from celery import Celery

from .settings import get_settings

HEAVY_QUEUE = "heavy"
UNACKED_MUTEX_SECONDS = 10


def _configure(app: Celery, transport_options: dict[str, Any]) -> Celery:
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # A worker that dies mid-task leaves the message unacknowledged, so it is delivered again:
        # at once if only a pool child died, after the visibility timeout if the whole worker did.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        result_expires=3600,
        task_ignore_result=True,  # events are fire-and-forget; a caller wanting a result asks per message
        broker_connection_retry_on_startup=True,
        broker_transport_options={"socket_connect_timeout": 3, **transport_options},
        redis_socket_connect_timeout=3,
        task_default_queue="default",
        worker_hijack_root_logger=False,
    )
    return app


@lru_cache(maxsize=1)
def get_celery() -> Celery:
    settings = get_settings()
    app = Celery("hall", broker=settings.redis_url, backend=settings.redis_url)
    return _configure(app, {
        "visibility_timeout": settings.event_visibility_timeout,
        # Sweep for abandoned events every interval (kombu's default scans only every 100 s).
        "unacked_restore_interval": settings.event_restore_interval,
        "unacked_restore_throttle": 1,
        # A sweep holds a Redis lock for milliseconds; a worker SIGKILLed while holding it keeps it for
        # kombu's default 5 minutes, during which no abandoned event comes back (the likely cause of a
        # CI run where a killed worker's event returned only by the outbox's resend, a minute later).
        # A second sweeper at worst restores an event twice, which the idempotent consumers absorb.
        "unacked_mutex_expire": UNACKED_MUTEX_SECONDS,
    })


@lru_cache(maxsize=1)
def get_heavy_celery() -> Celery:
    """Long-running jobs: their own unacknowledged-message keys, so the event workers' short timeout
    never redelivers a job that is still running."""
    settings = get_settings()
    app = Celery("hall-heavy", broker=settings.redis_url, backend=settings.redis_url)
    _configure(app, {
        "visibility_timeout": settings.heavy_visibility_timeout,
        "unacked_key": "unacked_heavy",
        "unacked_index_key": "unacked_index_heavy",
        "unacked_mutex_key": "unacked_mutex_heavy",
        # Swept as often as the events' index (kombu's default every 100 s): a killed job comes back
        # soon after its timeout, and a sweeper killed holding the lock blocks sweeps for seconds only.
        "unacked_restore_interval": settings.event_restore_interval,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": UNACKED_MUTEX_SECONDS,
    })
    app.conf.task_default_queue = HEAVY_QUEUE
    return app


def reset_celery() -> None:
    from . import live, receipts

    get_celery.cache_clear()
    get_heavy_celery.cache_clear()
    receipts.reset_client()
    live.reset_client()  # the Redis of the settings in force (tests change it)
