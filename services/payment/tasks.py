"""Events this service consumes (none yet), and its own jobs."""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import Flask

from hall_common.runtime import Handler

from . import bills

HANDLERS: dict[str, Handler] = {}
MAKE_BILLS = "payment.make_bills"


def register_tasks(celery: Celery, app: Flask) -> None:
    """The remittance bills of the current month, run by beat (hall_common.tasks.beat_schedule) every
    hour: the first run of a month makes them, every later one (and any retry) finds them made."""

    @celery.task(name=MAKE_BILLS, ignore_result=True)
    def make_bills() -> dict[str, Any]:
        with app.app_context():
            today = bills.hall_today()
            return bills.make_month(bills.first_of_month(today), today)
