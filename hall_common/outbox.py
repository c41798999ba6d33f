"""Transactional outbox: an event is stored in the same transaction as the business that caused it,
then relayed to Celery on Redis. If Redis or the worker is down the row waits; the periodic relay
delivers it later. Of two relays racing for the same rows, the conditional update that marks a row
published picks the one that sends it; a row can still go twice (a send whose commit failed, a
consumer's receipt missing), and consumers are idempotent.

The rows one relay pass publishes go to each consuming service as one Celery message carrying their
events in order (at most ``BATCH_MAX``; a single event travels alone, as it always did): the events a
transaction emitted for one service cost one message, one receive and one acknowledgement. The
consumer still handles each event on its own (tasks.handle_event).

A row is marked published only once it went to every subscriber ``events.ROUTES`` names. A type with
no route, or a business event whose owner is not a service, stays unsent with an error in the log
(the catalog test catches such a type before deploy); the rows behind it are relayed as usual."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Integer, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from . import db, downstream, limits, receipts
from .celery_app import get_celery
from .events import ROUTES, downstream_only, make_event, subscribers
from .runtime import get_runtime
from .settings import SERVICES, get_settings

log = logging.getLogger(__name__)
EMITTED = "hall.emitted"  # session.info key: this transaction added outbox rows
# Events of one message at most: a backlog (after an outage) still spreads over the worker's processes.
BATCH_MAX = 20
# Event ids already reported as undeliverable by this process, so the log is not flooded every pass.
_reported: set[str] = set()


def emit(session: Session, type_: str, data: dict[str, Any], subject: str | None = None) -> dict[str, Any]:
    """Add an event to the outbox of the current service; it is sent only if the transaction commits."""
    runtime = get_runtime()
    event = make_event(runtime.name, type_, data, subject)
    payload = json.dumps(event, ensure_ascii=False)
    # A plain insert, built once per service: an ORM object per event cost the flush's bookkeeping in
    # every transaction that emits (make bench). The rows are written in emitting order, so relayed so.
    session.execute(_insert_statement(runtime.plumbing.outbox.__table__),
                    {"event_id": event["id"], "type": type_, "payload": payload, "created_at": db.utcnow()})
    session.info[EMITTED] = True  # the consumer relays after its commit only when something was emitted
    return event


def relay(limit: int = 200, retry: bool = True, min_age: float = 0, verify: bool = False, report: bool = True) -> int:
    """Publish unsent outbox rows of the current service. Returns how many rows were published.

    The periodic relay passes ``min_age``: a row younger than that is the inline relay's, and both
    picking it up would only deliver it twice. It also ``verify``-s published rows whose consumers'
    receipts are due, sending each again to the consumers that have not confirmed it. The inline
    relay after each commit passes ``report=False``: the periodic pass reports unrouted rows, and one
    query less per event counted (make bench, approval cycle).
    """
    runtime = get_runtime()
    model = runtime.plumbing.outbox
    session = db.session()
    celery = get_celery()
    if report:
        _report_unrouted(session, model)
    table = model.__table__
    try:
        events: dict[int, dict[str, Any]] = {}
        unsent = session.execute(_unsent_query(table), {"cutoff": db.utcnow() - timedelta(seconds=min_age),
                                                        "limit": limit})
        for row in unsent.all():
            event = json.loads(row.payload)
            targets = subscribers(event)
            if not (targets or downstream_only(event)) or any(target not in SERVICES for target in targets):
                _report(row, f"its subscribers {targets} are not services")
                continue
            events[row.id] = event
        claimed = _claim(session, table, list(events))
        batches: dict[str, list[dict[str, Any]]] = {}
        for row_id, event in events.items():
            if row_id in claimed:
                for target in subscribers(event):
                    batches.setdefault(target, []).append(event)
        _send(celery, batches, retry)
        session.commit()
        # After the commit, never failing it: a missed publish is found by the receipt check below.
        downstream.publish(event for row_id, event in events.items() if row_id in claimed)
        if verify:
            _resend_unconfirmed(session, model, retry)
    except Exception:
        # Rows sent before the failure are sent again later: consumers drop the duplicates.
        session.rollback()
        raise
    return len(claimed)


def _claim(session: Session, table: Any, ids: list[int]) -> set[int]:
    """Mark the rows published before sending them, in the transaction that commits after the send.

    The conditional UPDATE decides which of two racing relays sends a row (SQLite has no FOR UPDATE:
    the second waits for the first's commit, then finds the row published). Without it, a worker
    process and a web process relaying at the same moment sent a sixth of the events twice (make
    bench). Plain statements: the inline relay runs after every commit that emitted.
    """
    if not ids:
        return set()
    now = db.utcnow()
    check_at = now + timedelta(seconds=get_settings().event_confirm_after)
    claimed: set[int] = set()
    for start in range(0, len(ids), 500):
        claimed.update(session.execute(_claim_statement(table), {
            "ids": ids[start:start + 500], "published_at": now, "check_at": check_at}).scalars())
    return claimed


@lru_cache(maxsize=16)
def _insert_statement(table: Table) -> Any:
    return insert(table).values(event_id=bindparam("event_id"), type=bindparam("type"),
                                payload=bindparam("payload"),
                                created_at=bindparam("created_at", type_=table.c.created_at.type))


# The relay's two statements, built once per service with bound parameters: the inline relay runs
# after every commit that emitted (make bench).
@lru_cache(maxsize=16)
def _unsent_query(table: Table) -> Any:
    return (
        select(table.c.id, table.c.event_id, table.c.type, table.c.payload)
        .where(table.c.published_at.is_(None), table.c.type.in_(list(ROUTES)))
        .where(table.c.created_at <= bindparam("cutoff", type_=table.c.created_at.type))
        .order_by(table.c.id)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True)
    )


@lru_cache(maxsize=16)
def _claim_statement(table: Table) -> Any:
    return (
        update(table)
        .where(table.c.id.in_(bindparam("ids", expanding=True)), table.c.published_at.is_(None))
        .values(published_at=bindparam("published_at", type_=table.c.published_at.type),
                check_at=bindparam("check_at", type_=table.c.check_at.type))
        .returning(table.c.id)
    )


def _send(celery: Any, batches: dict[str, list[dict[str, Any]]], retry: bool, resent: bool = False) -> None:
    """One message per service and up to BATCH_MAX events, in the order they were emitted.

    ``resent``: copies of events already sent once; the mark makes the consumer count their first
    delivery against each event (limits.worn_out), as a return of the first copy would be.
    """
    options: dict[str, Any] = {"headers": {limits.RESENT: 1}} if resent else {}
    for target, events in batches.items():
        for start in range(0, len(events), BATCH_MAX):
            chunk = events[start:start + BATCH_MAX]
            celery.send_task(f"{target}.handle_event", args=[chunk if len(chunk) > 1 else chunk[0]],
                             queue=target, retry=retry, ignore_result=True, **options)


def _resend_unconfirmed(session: Session, model: Any, retry: bool, limit: int = 100) -> None:
    """Send a published event again to each subscriber without a receipt, then check later again."""
    now = db.utcnow()
    due = list(session.scalars(
        select(model).where(model.check_at <= now).order_by(model.check_at).limit(limit)
        .with_for_update(skip_locked=True)
    ))
    if not due:
        session.commit()  # ends the read's transaction (and its row locks on PostgreSQL)
        return
    events = {row.event_id: json.loads(row.payload) for row in due}
    pairs = [(target, event_id) for event_id, event in events.items() for target in _receivers(event)]
    unconfirmed = receipts.missing(pairs)
    batches: dict[str, list[dict[str, Any]]] = {}
    for row in due:
        targets = [target for target, event_id in pairs
                   if event_id == row.event_id and (target, event_id) in unconfirmed]
        if not targets:
            row.check_at = None
            continue
        log.warning("event %s (%s) has no receipt from %s after %s; sending it again",
                    row.event_id, row.type, targets, row.published_at)
        for target in targets:
            batches.setdefault(target, []).append(events[row.event_id])
        row.resent += 1
        wait = min(get_settings().event_confirm_after * 2 ** row.resent, 3600)
        row.check_at = now + timedelta(seconds=wait)
    again = batches.pop(downstream.TARGET, [])
    _send(get_celery(), batches, retry, resent=True)
    session.commit()
    downstream.publish(again)


def _receivers(event: dict[str, Any]) -> list[str]:
    """Whose receipts an event needs: its subscribers, and the downstream stream if it carries the type."""
    targets = subscribers(event)
    return [*targets, downstream.TARGET] if downstream.carries(event) else targets


def _report_unrouted(session: Session, model: Any) -> None:
    query = (
        select(model)
        .where(model.published_at.is_(None), model.type.not_in(list(ROUTES)))
        .order_by(model.id)
        .limit(50)
    )
    for row in session.scalars(query):
        _report(row, "its type has no route in events.ROUTES")


def _report(row: Any, reason: str) -> None:
    if row.event_id in _reported:
        return
    if len(_reported) > 10_000:
        _reported.clear()
    _reported.add(row.event_id)
    log.error("outbox event %s (%s) of %s is not sent: %s", row.event_id, row.type, get_runtime().name, reason)


def commit_and_relay(session: Session) -> None:
    """Commit the business with its events, then deliver them without making the user wait.

    The commit is what matters: a background thread publishes at once, and if the broker is
    unreachable the periodic relay sends the rows later.
    """
    session.commit()
    if get_settings().relay_inline:
        _relayer(current_app._get_current_object()).wake()  # type: ignore[attr-defined]


def relay_now() -> None:
    """Publish what the current transaction left in the outbox; failures wait for the periodic relay."""
    if not get_settings().relay_inline:
        return
    try:
        relay(retry=False, report=False)
    except Exception:  # the broker being down must not fail stored business
        log.warning("outbox relay deferred: broker unavailable", exc_info=True)


class _Relayer:
    """One background thread per application: a burst of commits becomes one relay pass."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pending = threading.Event()
        threading.Thread(target=self._run, name="outbox-relay", daemon=True).start()

    def wake(self) -> None:
        self.pending.set()

    def _run(self) -> None:
        while True:
            self.pending.wait()
            linger = get_settings().relay_linger
            if linger:
                time.sleep(linger)  # the commits of concurrent requests meanwhile go in the same pass
            self.pending.clear()
            with self.app.app_context():
                relay_now()


_relayers_lock = threading.Lock()


def _relayer(app: Flask) -> _Relayer:
    with _relayers_lock:
        relayer: _Relayer | None = app.extensions.get("hall.relayer")
        if relayer is None:
            relayer = app.extensions["hall.relayer"] = _Relayer(app)
        return relayer
