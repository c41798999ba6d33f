"""Notify service: the five inboxes of every employer."""

from typing import Any

from flask import Flask

from hall_common.app import app_factory
from hall_common.runtime import ServiceRuntime
from hall_common.security import KeyProvider

from . import models, push_rules, routes, tasks

RUNTIME = ServiceRuntime("notify", models.Base, models.PLUMBING, tasks.HANDLERS,
                         housekeeping=tasks.housekeeping, register_tasks=tasks.register_tasks)
_create_app = app_factory(RUNTIME, [routes.blp])


def create_app(config: dict[str, Any] | None = None, keys: KeyProvider | None = None) -> Flask:
    app = _create_app(config, keys)
    push_rules.init_rate_limit(app)
    return app
