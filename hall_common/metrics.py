"""Prometheus metrics of every process, served at ``/metrics``.

Kept as the process goes: request counts and latencies per route template (never the concrete path:
ids would make a series per employer), task durations per Celery task, live streams held by the
gateway. Read when scraped: a service's outbox depth and the age of its oldest unsent event, its dead
letters, and the length of the Celery queues a worker serves (Redis ``LLEN``), so a scrape shows the
database and the broker as they are, not as some process last saw them.

Under gunicorn with several workers (or a prefork Celery pool) set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty directory per process group (not shared between services) before the process starts:
prometheus_client then keeps each process's values in files there and a scrape of any worker sums them
(deploy/observability/gunicorn.py removes a dead worker's files). docs/observability.md lists the metrics.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from celery import signals
from flask import Flask, Response, current_app, g, request
from flask_smorest import Blueprint
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from .access import allow

log = logging.getLogger(__name__)
disable_created_metrics()  # a *_created series beside every counter and histogram doubles the scrape for nothing
PATH = "/metrics"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
PORT_ENV = "HALL_METRICS_PORT"  # a Celery worker's or beat's own metrics server (it has no web server)
# The text format every Prometheus reads (the hall's names need none of the newer format's escaping).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
HOST_ENV = "HALL_METRICS_HOST"  # where that server listens: 0.0.0.0 in a container, this machine by default

# Page and API latencies: most answer in milliseconds, an export or a print streams for seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)

HTTP_REQUESTS = Counter("hall_http_requests_total", "HTTP requests answered, by route template and status",
                        ["process", "method", "route", "status"])
HTTP_LATENCY = Histogram("hall_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["process", "method", "route"], buckets=LATENCY_BUCKETS)
TASKS = Counter("hall_task_runs_total", "Celery tasks run, by outcome", ["task", "state"])
TASK_DURATION = Histogram("hall_task_duration_seconds", "Time a Celery task ran", ["task"], buckets=TASK_BUCKETS)
LIVE_STREAMS = Gauge("hall_live_streams", "Live inbox streams the gateway holds open", multiprocess_mode="livesum")


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"  # unknown paths: one series, not one each


def init_app(app: Flask, process: str, collectors: Iterable[Collector] = ()) -> None:
    """Count and time every request of ``app``; its ``/metrics`` (``view``, ``blueprint``) adds
    ``collectors``, read at the scrape in the app's context (they may query its database)."""

    @app.before_request
    def _start() -> None:
        g.hall_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.get("hall_started")
        if started is not None:
            route = _route()
            HTTP_LATENCY.labels(process, request.method, route).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(process, request.method, route, str(response.status_code)).inc()
        return response

    app.extensions["hall.metrics"] = list(collectors)


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The text a scrape gets: this process's (or, in multiprocess mode, every sibling's) kept values,
    then the collectors read now."""
    if os.environ.get(MULTIPROCESS_ENV):
        kept = CollectorRegistry()
        multiprocess.MultiProcessCollector(kept)
    else:
        kept = REGISTRY
    now = CollectorRegistry(auto_describe=False)
    for collector in extra:
        now.register(collector)
    return generate_latest(kept) + generate_latest(now)


def view(app: Flask) -> Response:
    """``GET /metrics`` of a Flask app set up by ``init_app``."""
    return Response(exposition(app.extensions.get("hall.metrics", ())), content_type=CONTENT_TYPE)


def blueprint() -> Blueprint:
    """A service's ``/metrics``, in its API like ``/health``. Public as ``/health`` is: counts and route
    templates, no business data; the proxy in front of the hall does not forward it from outside."""
    blp = Blueprint("metrics", __name__, description="Prometheus metrics of this process")

    @blp.route(PATH)
    @allow("public")
    @blp.doc(responses={"200": {"description": "The Prometheus text exposition format",
                                "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def metrics() -> Response:
        return view(current_app._get_current_object())  # type: ignore[attr-defined]

    return blp


# -- gunicorn hooks (deploy/observability/gunicorn.py) --------------------------------------------------

def on_starting(_server: Any) -> None:
    """The master, before its workers: values a previous run left in the directory are not this run's."""
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(_server: Any, worker: Any) -> None:
    """A worker exited: its live gauges (the streams it held) no longer count."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(worker.pid)


class PlumbingCollector(Collector):
    """The service's outbox (events not yet sent, the oldest one's age) and its dead letters by status,
    read from its database when scraped. A failed read is logged and leaves the metrics out, so the
    alert on a missing series fires rather than a false zero."""

    def __init__(self, service: str) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from . import db
        from .runtime import get_runtime

        try:
            plumbing = get_runtime().plumbing
            session = db.session()
            outbox = plumbing.outbox
            depth, oldest = session.execute(
                select(func.count(), func.min(outbox.created_at)).where(outbox.published_at.is_(None))).one()
            letters = plumbing.dead_letter
            by_status: dict[str, int] = {status: count for status, count in session.execute(
                select(letters.status, func.count()).group_by(letters.status))}
            session.rollback()  # a read: end its transaction at once
        except Exception:
            log.warning("metrics: the outbox and dead letters of %s were not read", self.service, exc_info=True)
            return
        waiting = GaugeMetricFamily("hall_outbox_depth", "Events stored but not yet sent", labels=["service"])
        waiting.add_metric([self.service], depth)
        yield waiting
        age = GaugeMetricFamily("hall_outbox_oldest_age_seconds", "Age of the oldest event not yet sent (0: none)",
                                labels=["service"])
        age.add_metric([self.service], _age(oldest))
        yield age
        dead = GaugeMetricFamily("hall_dead_letters", "Events given up on, by status", labels=["service", "status"])
        for status in ("dead", "retrying", "resolved"):
            dead.add_metric([self.service, status], by_status.get(status, 0))
        yield dead


def _age(oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # stored naive in UTC (hall_common.db.utcnow)
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - oldest).total_seconds())


class QueueCollector(Collector):
    """How many messages wait in each Celery queue (a Redis list per queue, named as the queue)."""

    def __init__(self, queues: Iterable[str]) -> None:
        self.queues = list(queues)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("hall_queue_length", "Messages waiting in a Celery queue", labels=["queue"])
        try:
            with _queue_client() as client:
                for queue in self.queues:
                    family.add_metric([queue], client.llen(queue))
        except Exception:
            log.warning("metrics: the queue lengths were not read", exc_info=True)
            return
        yield family


def _queue_client() -> Any:
    """The broker's Redis (Celery's Redis transport keeps a queue's waiting messages in a list of its name)."""
    from redis import Redis

    from .settings import get_settings

    return closing(Redis.from_url(get_settings().redis_url, socket_timeout=2, socket_connect_timeout=2))


# -- Celery ------------------------------------------------------------------------------------------

_started: dict[str, float] = {}


def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


def _task_ended(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id or "", None)
    name = getattr(task, "name", None) or "unknown"
    TASKS.labels(name, state or "UNKNOWN").inc()
    if started is not None:
        TASK_DURATION.labels(name).observe(time.perf_counter() - started)


def init_celery(queues: Iterable[str]) -> None:
    """Time every task this process runs; a worker or beat given ``HALL_METRICS_PORT`` serves its
    metrics (with the lengths of ``queues``) there once it is up."""
    listed = list(queues)
    # connect() keeps one receiver per function however often it is called
    signals.task_prerun.connect(_task_started, weak=False, dispatch_uid="hall.metrics.started")
    signals.task_postrun.connect(_task_ended, weak=False, dispatch_uid="hall.metrics.ended")

    def serve(**_: Any) -> None:
        port = os.environ.get(PORT_ENV)
        if port:
            start_server(int(port), [QueueCollector(listed)] if listed else [])

    signals.worker_ready.connect(serve, weak=False, dispatch_uid="hall.metrics.worker")
    signals.beat_init.connect(serve, weak=False, dispatch_uid="hall.metrics.beat")


def start_server(port: int, collectors: Iterable[Collector] = ()) -> Any:
    """A small HTTP server for a process without a web server of its own (a thread, as prometheus_client's)."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    extra = list(collectors)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        body = exposition(extra)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE)])
        return [body]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *_: Any) -> None:  # a scrape every few seconds is not worth a log line
            pass

    server = make_server(os.environ.get(HOST_ENV, "127.0.0.1"), port, app, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("metrics served on port %s", port)
    return server
