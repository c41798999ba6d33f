"""What the shared plumbing needs to know about one service."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy.orm import DeclarativeBase

from .models import PlumbingModels

EXTENSION_KEY = "hall.runtime"
Handler = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class ServiceRuntime:
    name: str
    base: type[DeclarativeBase]
    plumbing: PlumbingModels
    # event type -> handler(event); runs inside the consumer's transaction
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    # periodic clean-up of the service's own expired rows, run by beat besides the common one
    housekeeping: Callable[[], None] | None = None
    # How long a token found not revoked is believed without asking the table again (security.is_revoked):
    # the other services hear of a revocation by event, moments late anyway; auth, which records it, uses 0.
    revocation_recheck_seconds: float = 1.0
    # The service's own Celery tasks besides the common ones: register(celery, app), called by the worker.
    register_tasks: Callable[[Any, Flask], None] | None = None
    # Its jobs for the heavy queue (imports): register(heavy_celery, app), called by the heavy worker.
    register_heavy: Callable[[Any, Flask], None] | None = None


def get_runtime(app: Flask | None = None) -> ServiceRuntime:
    runtime: ServiceRuntime = (app or current_app).extensions[EXTENSION_KEY]
    return runtime
