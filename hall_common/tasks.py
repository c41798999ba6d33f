"""The Celery tasks every service gets: consume an event, relay the outbox."""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import Flask

from .consumer import InvalidEvent, consume
from .outbox import relay
from .runtime import get_runtime


def register_service_tasks(celery: Celery, app: Flask) -> None:
    name = get_runtime(app).name

    @celery.task(
        name=f"{name}.handle_event",
        acks_late=True,
        autoretry_for=(Exception,),
        dont_autoretry_for=(InvalidEvent,),
        retry_backoff=True,
        retry_backoff_max=60,
        max_retries=None,  # an event is never dropped: a failing handler is retried until it succeeds
    )
    def handle_event(event: dict[str, Any]) -> str:
        with app.app_context():
            return consume(event)

    @celery.task(name=f"{name}.relay_outbox", ignore_result=True)
    def relay_outbox() -> int:
        with app.app_context():
            return relay()


def relay_schedule(services: list[str], interval: float) -> dict[str, Any]:
    return {
        f"relay-{name}": {
            "task": f"{name}.relay_outbox",
            "schedule": interval,
            "options": {"queue": name, "expires": max(interval * 5, 5)},
        }
        for name in services
    }
