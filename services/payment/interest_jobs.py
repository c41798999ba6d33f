"""Running a settlement: synchronously in an app context (settle_year), as a heavy-queue job (the
console's 开始结息 and the yearly beat entry), and the rates it reads from the member service."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any

from celery import Celery
from celery.schedules import crontab
from flask import Flask
from sqlalchemy import func, select

from hall_common import db
from hall_common.celery_app import HEAVY_QUEUE, get_heavy_celery
from hall_common.client import ServiceClient, ServiceError
from hall_common.errors import BusinessError
from hall_common.service_tokens import own_token
from hall_common.settings import get_settings

from . import interest
from .interest_models import InterestRun

log = logging.getLogger(__name__)
TASK = "payment.settle_interest"


def today() -> date:
    return date.today()


def policy_rates(on: date) -> interest.Rates:
    """The rates of the policy in force on ``on`` (the member service owns the policy)."""
    try:
        body = ServiceClient("member", own_token("payment")).get("/policy/in-force", on=on.isoformat())
    except ServiceError as exc:
        raise BusinessError(f"读取{on:%Y年%m月%d日}的政策参数失败：{exc.message}", 503) from exc
    hundred = Decimal(100)
    return interest.Rates(current=Decimal(body["current_rate_pct"]) / hundred,
                          carried=Decimal(body["carried_rate_pct"]) / hundred)


def settle_year(year: int, *, actor: str = "system", rates: interest.Rates | None = None,
                max_batches: int | None = None) -> dict[str, Any]:
    """Settle interest year ``year`` in this app context and answer its run's summary. A run already
    started keeps the rates it started with (read again only for a new run)."""
    session = db.session()
    existing = session.get(InterestRun, year)
    if rates is None and existing is None:
        rates = policy_rates(interest.Year(year).end)
    if rates is None:
        assert existing is not None
        rates = interest.Rates(Decimal(existing.current_rate), Decimal(existing.carried_rate))
    try:
        run = interest.settle(session, year, rates, get_settings().interest_day_basis, actor, today(),
                              max_batches=max_batches)
    except BusinessError:
        session.rollback()
        raise
    except Exception as exc:
        interest.fail(session, year, f"结息中断：{type(exc).__name__}")
        raise
    return interest.view(run, year)


def runs_page(page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    session = db.session()
    runs = session.scalars(select(InterestRun).order_by(InterestRun.year.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    total = session.scalar(select(func.count()).select_from(InterestRun)) or 0
    return [interest.view(run, run.year) for run in runs], total


def run_of(year: int) -> dict[str, Any]:
    return interest.view(db.session().get(InterestRun, year), year)


def request_run(year: int, actor: str) -> dict[str, Any]:
    """开始结息: the run's row now (its rates fixed, shown at once), the work on the heavy queue. A run
    already done answers as it is and books nothing; a stopped one goes on where it stopped, with the
    rates it started with."""
    session = db.session()
    settled = interest.check_year(year, today())
    run = session.get(InterestRun, year)
    if run is None or run.status == "failed":
        rates = policy_rates(settled.end) if run is None else interest.Rates(Decimal(run.current_rate),
                                                                              Decimal(run.carried_rate))
        run = interest.start(session, settled, rates, get_settings().interest_day_basis, actor)
        session.commit()
    if run.status == "running":
        try:
            enqueue(year, actor)
        except Exception as exc:  # Redis down: the row stays running and 开始结息 again sends it
            raise BusinessError("结息任务提交失败，请稍后再试", 503) from exc
    return interest.view(run, year)


def enqueue(year: int, actor: str) -> None:
    """Hand a run to the heavy worker (the console waits for nothing but the progress row)."""
    get_heavy_celery().send_task(TASK, args=[year, actor], queue=HEAVY_QUEUE)


def register_heavy(celery: Celery, app: Flask) -> None:
    @celery.task(name=TASK, acks_late=True, ignore_result=True)
    def settle_interest(year: int | None = None, actor: str = "system") -> None:
        # beat sends no year: the interest year ending today (30 June)
        with app.app_context():
            try:
                settle_year(year or today().year, actor=actor)
            except BusinessError as exc:
                log.warning("interest settlement %s refused: %s", year, exc.message)


# Yearly on 30 June, late in the evening (Beijing time) so the day's bookings are in: the task itself
# settles the year ending today. Beat sends it to the heavy queue.
BEAT: dict[str, Any] = {
    "payment-interest-yearly": {
        "task": TASK, "schedule": crontab(minute=30, hour=15, day_of_month=30, month_of_year=6),
        "options": {"queue": HEAVY_QUEUE, "expires": 6 * 3600},
    },
}
