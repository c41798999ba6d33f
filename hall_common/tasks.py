"""The Celery tasks every service gets: consume an event, relay the outbox, housekeeping."""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import Flask
from sqlalchemy import delete

from . import db
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

    @celery.task(name=f"{name}.housekeeping", ignore_result=True)
    def housekeeping() -> None:
        with app.app_context():
            run_housekeeping()


def run_housekeeping() -> None:
    """Forget what can no longer matter: revoked tokens past their expiry, and the service's own."""
    runtime = get_runtime()
    model = runtime.plumbing.revoked
    session = db.session()
    session.execute(delete(model).where(model.expires_at < db.utcnow()))
    session.commit()
    if runtime.housekeeping is not None:
        runtime.housekeeping()
        session.commit()


def beat_schedule(services: list[str], relay_interval: float) -> dict[str, Any]:
    schedule: dict[str, Any] = {}
    for name in services:
        schedule[f"relay-{name}"] = {
            "task": f"{name}.relay_outbox",
            "schedule": relay_interval,
            "options": {"queue": name, "expires": max(relay_interval * 5, 5)},
        }
        schedule[f"housekeeping-{name}"] = {
            "task": f"{name}.housekeeping", "schedule": 3600.0, "options": {"queue": name, "expires": 600},
        }
    return schedule
