"""The Celery tasks every service gets: consume an event, relay the outbox, housekeeping."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject
from flask import Flask
from sqlalchemy import delete, select

from . import db, dead_letters, limits, receipts
from .celery_app import get_celery
from .consumer import PermanentEventError, consume, consume_deferred, consume_together
from .outbox import relay, relay_now
from .runtime import get_runtime
from .settings import get_settings

log = logging.getLogger(__name__)


def register_service_tasks(celery: Celery, app: Flask) -> None:
    name = get_runtime(app).name

    # Retries are counted here, not by Celery: when they run out the event becomes a dead letter
    # instead of being dropped, and an event is acknowledged only once it is processed or parked.
    # A message carries one event, or a list: the events one relay pass published for this service.
    @celery.task(bind=True, name=f"{name}.handle_event", acks_late=True, max_retries=None)
    def handle_event(self: Task, event: Any, first_failed_at: str | None = None) -> str:
        returned = limits.counted(self.request)  # came back after a dead worker, or a resent copy
        parked = 0
        if returned:
            events = event if isinstance(event, list) else [event]
            worn = limits.worn_out(name, self.request, events)
            if worn:
                left = park_worn_out(app, name, events, worn, self.request.id)
                if not left:
                    return "dead"
                parked, event = len(events) - len(left), left if isinstance(event, list) else left[0]
        if isinstance(event, list):
            # Back after its worker died (or a resent copy): one event at a time, so those before the one
            # that kills the worker are done (and never parked with it) before it runs again.
            outcome = handle_batch(self, app, name, event, together=not returned)
            return f"{outcome}, dead {parked}" if parked else outcome
        with app.app_context():
            try:
                with limits.time_limited():
                    outcome = consume(event)
            except Exception as exc:
                outcome = retry_or_bury(self, event, exc, first_failed_at)  # raises to retry later
        if isinstance(event, dict) and isinstance(event.get("id"), str):
            receipts.confirm(name, event["id"])  # done with it: processed, a duplicate, or parked
        return outcome

    checked = [0.0]  # when this process last checked receipts and unrouted rows (time.monotonic)

    @celery.task(name=f"{name}.relay_outbox", ignore_result=True)
    def relay_outbox() -> int:
        settings = get_settings()
        # Receipts fall due minutes after publishing and an unrouted row only needs its log line:
        # checking them every few seconds, not at every pass, halved what the passes cost (make bench).
        now = time.monotonic()
        check = now - checked[0] >= check_interval(settings.relay_interval, settings.event_confirm_after)
        if check:
            checked[0] = now
        with app.app_context():
            # The safety net: what the inline relay has not sent shortly after its commit.
            return relay(min_age=2 * settings.relay_interval if settings.relay_inline else 0, verify=check,
                         report=check)

    @celery.task(name=f"{name}.housekeeping", ignore_result=True)
    def housekeeping() -> None:
        with app.app_context():
            run_housekeeping()

    runtime = get_runtime(app)
    if runtime.register_tasks is not None:
        runtime.register_tasks(celery, app)


def check_interval(relay_interval: float, confirm_after: float) -> float:
    """Seconds between the periodic relay's receipt checks: a fifth of the receipt delay, at most 10."""
    return max(relay_interval, min(10.0, confirm_after / 5))


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1, 2, ...): doubling up to the cap, with jitter so
    events that failed together do not all come back at the same instant."""
    settings = get_settings()
    ceiling = min(settings.event_retry_backoff_max, settings.event_retry_backoff * 2 ** (attempt - 1))
    return round(random.uniform(ceiling / 2, ceiling), 3)


def handle_batch(task: Task, app: Flask, name: str, events: list[Any], together: bool = True) -> str:
    """The events of one message, in order: first all in one transaction (consumer.consume_together);
    if any fails, nothing of that is stored and each is handled as if it had come alone: its own
    transaction, processed record, dead letter and receipt. A failing event is retried alone, in a
    message of its own (or parked), and the batch goes on: the events before it stay done, the ones
    after it run.

    If the worker dies midway, the broker delivers the whole message again: the events already
    processed are duplicates and change nothing. What the handlers emitted is relayed once, after the
    last event, so it too leaves as one message per consuming service. ``together=False`` (a message
    that came back after its worker died, or a resent copy) goes one at a time from the start.
    """
    outcomes: Counter[str] = Counter()
    confirmed: list[str] = []
    done = None
    if together:
        with app.app_context():
            try:
                with limits.time_limited():
                    done = consume_together(events)  # the usual case: one transaction for the message
            except limits.TimeLimitExceeded:
                db.session().rollback()
                done = None  # one at a time, each under its own limit, finds the slow one
            if done is not None and done[1]:
                relay_now()
    if done is not None:
        receipts.confirm_many(name, [e["id"] for e in events])
        return ", ".join(f"{outcome} {n}" for outcome, n in sorted(Counter(done[0]).items()))
    emitted = False
    try:
        for event in events:
            with app.app_context():  # a fresh session per event, as for a message of its own
                try:
                    with limits.time_limited():
                        outcome, more = consume_deferred(event)
                    emitted = emitted or more
                except Exception as exc:
                    outcome = retry_or_bury(task, event, exc, None, alone=True)
            outcomes[outcome] += 1
            if outcome != RETRYING and isinstance(event, dict) and isinstance(event.get("id"), str):
                confirmed.append(event["id"])
    finally:
        # Also when a dead letter could not be stored and the message goes back to its queue.
        if emitted:
            with app.app_context():
                relay_now()
        receipts.confirm_many(name, confirmed)
    return ", ".join(f"{outcome} {n}" for outcome, n in sorted(outcomes.items()))


RETRYING = "retrying"


def retry_or_bury(task: Task, event: Any, exc: Exception, first_failed_at: str | None, alone: bool = False) -> str:
    """Schedule the next attempt, or park the event as a dead letter when retries are used up.

    ``alone``: the event came in a batch; its retry is a message of its own (the first retry), so the
    batch's other events are neither redone nor held back.
    """
    settings = get_settings()
    attempt = 1 if alone else task.request.retries + 1
    first = first_failed_at or db.utcnow().isoformat()
    event_id = event.get("id") if isinstance(event, dict) else None
    if isinstance(exc, PermanentEventError) or attempt > settings.event_max_retries:
        return _bury(task, event, exc, attempt, first)
    delay = backoff(attempt)
    log.warning("event %s failed (attempt %s), retrying in %ss: %s", event_id, attempt, delay,
                dead_letters.describe(exc))
    if alone:
        try:
            get_celery().send_task(task.name, args=[event], kwargs={"first_failed_at": first}, countdown=delay,
                                   retries=attempt, queue=get_runtime().name, ignore_result=True)
        except Exception:  # as task.retry below: a retry that cannot be published parks the event
            return _bury(task, event, exc, attempt, first)
        return RETRYING
    try:
        retry = task.retry(exc=exc, countdown=delay, kwargs={"first_failed_at": first}, throw=False)
    except Reject:  # the retry could not be published: keep the event where the center sees it
        return _bury(task, event, exc, attempt, first)
    raise retry


def _bury(task: Task, event: Any, exc: Exception, attempt: int, first: str) -> str:
    try:
        dead_letters.bury(event, dead_letters.describe(exc), attempt, datetime.fromisoformat(first))
    except Exception:
        # Neither stored nor retried: hand the message back to the broker rather than acknowledge it.
        log.exception("the dead letter of an event could not be stored; the event goes back to its queue")
        time.sleep(1)  # not a hot loop while the database is down
        raise Reject(exc, requeue=True) from exc
    log.error("event %s (%s) became a dead letter after %s attempt(s): %s",
              event.get("id") if isinstance(event, dict) else None,
              event.get("type") if isinstance(event, dict) else None, attempt, dead_letters.describe(exc))
    return "dead"


UNDELIVERABLE = "事件处理中工作进程多次中止（超过时间限制或内存不足），已停止重试"


def park_worn_out(app: Flask, name: str, events: list[Any], worn: dict[str, int], message_id: str | None) -> list[Any]:
    """Events delivered event_max_deliveries times, their workers killed each time: each parked as a
    dead letter without running it once more. Returns the message's events still to handle.

    An event already processed stays: this copy is a duplicate, no strike against it (a batch's
    innocent events travel with the one that kills the worker, and a lost receipt brings a resent
    copy). One already a dead letter is neither run nor parked again: late copies of a parked event
    (its returns, a resend in flight) end here.
    """
    plumbing = get_runtime(app).plumbing
    with app.app_context():
        session = db.session()
        ids = list(worn)
        processed = set(session.scalars(select(plumbing.processed.event_id)
                                        .where(plumbing.processed.event_id.in_(ids))))
        parked = set(session.scalars(select(plumbing.dead_letter.event_id).where(
            plumbing.dead_letter.event_id.in_(ids), plumbing.dead_letter.status == dead_letters.DEAD)))
        session.rollback()  # ends the read (bury starts a transaction of its own)
        buried: list[str] = []
        for event in events:
            event_id = _event_id(event)
            if event_id not in worn or event_id in processed or event_id in parked:
                continue
            try:
                dead_letters.bury(event, UNDELIVERABLE, worn[event_id], db.utcnow())
            except Exception as exc:
                # Neither stored nor run: back to the broker, which marks it redelivered (counted).
                log.exception("the dead letter of event %s could not be stored; its message goes back", event_id)
                time.sleep(1)
                raise Reject(exc, requeue=True) from exc
            buried.append(event_id)
            log.error("event %s (%s) was delivered to %s %s times without ending (its worker stopped each time); "
                      "message %s: parked as a dead letter without running", event_id, event.get("type"), name,
                      worn[event_id], message_id)
    for event_id in sorted(parked):
        log.warning("event %s came to %s again (message %s) but is a dead letter already: not run",
                    event_id, name, message_id)
    receipts.confirm_many(name, [*buried, *sorted(parked)])
    skip = {*buried, *parked}
    return [event for event in events if _event_id(event) not in skip]


def _event_id(event: Any) -> str | None:
    event_id = event.get("id") if isinstance(event, dict) else None
    return event_id if isinstance(event_id, str) else None


def run_housekeeping() -> None:
    """Forget what can no longer matter: revoked tokens past their expiry, events delivered and
    confirmed (or dead letters resolved) longer ago than the retention, and the service's own."""
    runtime = get_runtime()
    plumbing = runtime.plumbing
    session = db.session()
    now = db.utcnow()
    before = now - timedelta(days=get_settings().event_retention_days)
    session.execute(delete(plumbing.revoked).where(plumbing.revoked.expires_at < now))
    outbox = plumbing.outbox
    # check_at is cleared once every consumer confirmed the event; a row still awaiting receipts stays.
    session.execute(delete(outbox).where(outbox.published_at < before, outbox.check_at.is_(None)))
    letters = plumbing.dead_letter
    session.execute(delete(letters).where(letters.status == dead_letters.RESOLVED, letters.resolved_at < before))
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
    if "payment" in services:  # the month's remittance bills (services/payment/tasks.py): once each, hourly retries
        schedule["bills-payment"] = {"task": "payment.make_bills", "schedule": 3600.0,
                                     "options": {"queue": "payment", "expires": 600}}
    return schedule
