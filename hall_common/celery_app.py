"""The one Celery application: Redis carries events between services."""

from __future__ import annotations

from functools import lru_cache

from celery import Celery

from .settings import get_settings


@lru_cache(maxsize=1)
def get_celery() -> Celery:
    settings = get_settings()
    app = Celery("hall", broker=settings.redis_url, backend=settings.redis_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # A worker that dies mid-task leaves the message unacknowledged, so it is delivered again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        result_expires=3600,
        task_ignore_result=True,  # events are fire-and-forget; a caller wanting a result asks per message
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600, "socket_connect_timeout": 3},
        redis_socket_connect_timeout=3,
        task_default_queue="default",
        worker_hijack_root_logger=False,
    )
    return app


def reset_celery() -> None:
    get_celery.cache_clear()
