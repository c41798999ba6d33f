"""Events this service consumes."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask

from hall_common import business_types
from hall_common.runtime import Handler
from hall_common.settings import get_settings
from hall_common.tasks import backoff

from . import push, tracks
from .messages import add_message

# The owners' domain events that announce an outcome (each type's ``result_events`` in the catalog).
HANDLERS: dict[str, Handler] = {event_type: add_message for info in business_types.DEFAULTS
                                for event_type in info.result_events}
# The workflow's process events: one folded state per instance, for 待办 / 已办 / 我发起的.
HANDLERS.update(tracks.HANDLERS)


def register_tasks(celery: Celery, app: Flask) -> None:
    """The broadcast's batches: each stores one page of the employer directory, then queues the next.
    A failing batch is retried with the events' backoff; past the retries the push stays ``storing``
    and housekeeping resumes it from its cursor."""

    @celery.task(bind=True, name=push.TASK, acks_late=True, max_retries=None, ignore_result=True)
    def push_batch(self: Task, push_id: int, cursor: str) -> Any:
        with app.app_context():
            try:
                following = push.store_batch(push_id, cursor)
            except Exception as exc:
                if self.request.retries >= get_settings().event_max_retries:
                    push.log.exception("push %s: batch after %r failed; housekeeping resumes it", push_id, cursor)
                    return None
                raise self.retry(exc=exc, countdown=backoff(self.request.retries + 1)) from exc
        if following is not None:
            push.schedule(push_id, following)
        return None


def housekeeping() -> None:
    push.resume_stalled()
