"""The heavy worker's entry point: ``celery -A services.heavy worker -Q heavy``.

Long jobs (a 100,000-row import) run here, on the heavy Celery app (hall_common.celery_app says why it
has its own queue and timeout), one at a time per process (prefetch 1, late acknowledgement), each in
its own service's app context.
"""

from __future__ import annotations

import importlib

from hall_common import logs, metrics, tracing
from hall_common.celery_app import HEAVY_QUEUE, get_heavy_celery
from hall_common.runtime import get_runtime
from hall_common.settings import get_settings

logs.configure("heavy")
tracing.configure("heavy")  # before the apps: their engines are made traced
metrics.init_celery([HEAVY_QUEUE])
app = get_heavy_celery()
for _name in get_settings().worker_service_list:
    _service = importlib.import_module(f"services.{_name}").create_app()
    _register = get_runtime(_service).register_heavy
    if _register is not None:
        _register(app, _service)
