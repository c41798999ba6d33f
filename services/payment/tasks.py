"""Events this service consumes (the outcomes of its businesses: 补缴), its jobs (the monthly remittance
bills, run by beat) and its heavy jobs (roster imports, the yearly interest settlement)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from flask import Flask

from hall_common import roster_imports
from hall_common.roster_api import heavy_tasks
from hall_common.runtime import Handler

from . import bills, interest_jobs
from .businesses import BOOK, BUSINESSES

# Outcomes dispatch by business type through the registry.
HANDLERS: dict[str, Handler] = BUSINESSES.outcome_handlers()
MAKE_BILLS = "payment.make_bills"
_roster_imports = heavy_tasks(BOOK)


def register_heavy(celery: Celery, app: Flask) -> None:
    _roster_imports(celery, app)
    interest_jobs.register_heavy(celery, app)


def housekeeping() -> None:
    roster_imports.housekeeping(BOOK)


def register_tasks(celery: Celery, app: Flask) -> None:
    """The remittance bills of the current month, run by beat (hall_common.tasks.beat_schedule) every
    hour: the first run of a month makes them, every later one (and any retry) finds them made."""

    @celery.task(name=MAKE_BILLS, ignore_result=True)
    def make_bills() -> dict[str, Any]:
        with app.app_context():
            today = bills.hall_today()
            return bills.make_month(bills.first_of_month(today), today)
