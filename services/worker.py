"""The Celery worker and beat entry point: ``celery -A services.worker worker -Q <services>``.

One worker process may serve every service (the default, for ``make run``) or one service each
(``HALL_WORKER_SERVICES=workflow``) to scale out; each task runs in its own service's app context.
"""

from __future__ import annotations

import importlib
import sys

from hall_common import logs, metrics, tracing
from hall_common.celery_app import get_celery
from hall_common.settings import get_settings
from hall_common.tasks import beat_schedule, register_service_tasks

settings = get_settings()
logs.configure("beat" if "beat" in sys.argv else "worker")
if "beat" not in sys.argv:  # beat only fires the periodic plumbing, which is not traced (hall_common.tracing)
    tracing.configure("worker")  # before the apps: their engines are made traced
metrics.init_celery(settings.worker_service_list)
app = get_celery()
for _name in settings.worker_service_list:
    register_service_tasks(app, importlib.import_module(f"services.{_name}").create_app())
# A beat fires only while it holds the Redis lock (hall_common/beat_lock.py): never two at once.
app.conf.beat_scheduler = "hall_common.beat_lock:LockedScheduler"
app.conf.beat_schedule = beat_schedule(settings.worker_service_list, settings.relay_interval)
if "payment" in settings.worker_service_list:  # the yearly interest settlement, sent to the heavy queue
    from services.payment.interest_jobs import BEAT as INTEREST_BEAT

    app.conf.beat_schedule.update(INTEREST_BEAT)
