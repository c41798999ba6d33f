"""Notify service: the five inboxes of every employer."""

from hall_common.app import app_factory
from hall_common.runtime import ServiceRuntime

from . import models, routes, tasks

RUNTIME = ServiceRuntime("notify", models.Base, models.PLUMBING, tasks.HANDLERS,
                         housekeeping=tasks.housekeeping, register_tasks=tasks.register_tasks)
create_app = app_factory(RUNTIME, [routes.blp])
