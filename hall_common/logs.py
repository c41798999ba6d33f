"""Structured logs and the request id that lets one business be followed across services.

Every process logs one JSON object per line (python-json-logger): time, level, logger, message, the
process (``service``) and the ``request_id`` of the work in hand. The gateway takes the id from an
``X-Request-Id`` header (a proxy in front may set it) or makes one; every service call carries it in the
same header (hall_common.client); every event emitted while it is current carries it as the CloudEvents
extension attribute ``requestid`` (hall_common.events); a consumer handling that event makes it current
again (hall_common.consumer), so what the consumer does and emits is logged and carried under the same
id. docs/observability.md shows how to follow one.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from celery import signals
from flask import Flask, Response, g, request
from pythonjsonlogger.json import JsonFormatter

from .tracing import current_ids

HEADER = "X-Request-Id"
TASK_HEADER = "hall_request_id"  # a Celery message's header: a job a request queued (an import) runs under its id
# A CloudEvents extension name: lowercase letters and digits only (CloudEvents 1.0, "Attribute Naming").
EVENT_ATTRIBUTE = "requestid"
# What a caller may name its request: enough for a UUID or a proxy's id, nothing that could forge a log
# line or a header (no spaces, quotes or control characters).
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_access = logging.getLogger("hall.access")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("hall_request_id", default=None)
_process = {"name": "hall"}


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted(value: Any) -> str | None:
    """The caller's id if it is a plausible one, else None (a fresh id is made instead)."""
    return value if isinstance(value, str) and _VALID.fullmatch(value) else None


def current_request_id() -> str | None:
    return _current.get()


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Make ``request_id`` current for the block (None: no id), restoring the one before afterwards."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


class _Context(logging.Filter):
    """Adds the process name and the current request id to every record the JSON handler writes, and
    the current span's ``trace_id`` and ``span_id`` when one is recording (hall_common.tracing), so a
    line and its trace find each other."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "service"):
            record.service = _process["name"]
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        if not hasattr(record, "trace_id"):
            ids = current_ids()
            if ids is not None:
                record.trace_id, record.span_id = ids
        return True


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing one JSON object per record, with the process and the current request id."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(
        "{levelname}{name}{message}{service}{request_id}", style="{",
        timestamp="time",  # ISO 8601 in UTC, whatever the machine's zone
        rename_fields={"levelname": "level", "name": "logger"},
        json_ensure_ascii=False,  # the messages' Chinese stays readable in the file
    ))
    handler.addFilter(_Context())
    return handler


def configure(process: str, level: int = logging.INFO) -> None:
    """JSON lines on stderr for the whole process. The first caller names the process: a worker
    builds every service's app, and its lines are the worker's (a consumer's line names its service).
    A root logger that already has a handler is left as its owner set it (a test runner's capture), as
    ``logging.basicConfig`` did here before."""
    logging.getLogger("spiff").setLevel(logging.WARNING)  # it logs every state change at INFO
    root = logging.getLogger()
    if root.handlers:
        return
    _process["name"] = process
    root.addHandler(json_handler())
    root.setLevel(level)


def init_app(app: Flask) -> None:
    """Each request runs under the caller's request id (or a new one), and the answer names it."""

    @app.before_request
    def _bind() -> None:
        g.hall_request_id_token = _current.set(accepted(request.headers.get(HEADER)) or new_request_id())

    @app.after_request
    def _name(response: Response) -> Response:
        request_id = _current.get()
        if request_id:
            response.headers[HEADER] = request_id
        # A line per write and per refusal: the steps of a business, followed by their request id.
        # Reads are most of the traffic and are counted in the metrics instead.
        if request.method not in ("GET", "HEAD", "OPTIONS") or response.status_code >= 400:
            _access.info("%s %s %s", request.method, request.path, response.status_code)
        return response

    @app.teardown_request
    def _unbind(_exc: BaseException | None) -> None:
        token = g.pop("hall_request_id_token", None)
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # torn down in another context than it began: nothing of ours to restore
                _current.set(None)


# -- Celery jobs --------------------------------------------------------------------------------------

_task_tokens: dict[str, contextvars.Token[str | None]] = {}


def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """A message published while a request is in hand (a heavy import, a broadcast) carries its id.
    The relay's event messages are published from its own thread, with none: each event has its own."""
    request_id = _current.get()
    if request_id and isinstance(headers, dict):
        headers.setdefault(TASK_HEADER, request_id)


def _bind_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    request_id = accepted(getattr(getattr(task, "request", None), TASK_HEADER, None))
    if task_id:
        _task_tokens[task_id] = _current.set(request_id)


def _unbind_task(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            _current.reset(token)
        except ValueError:
            _current.set(None)


signals.before_task_publish.connect(_stamp, weak=False, dispatch_uid="hall.logs.stamp")
signals.task_prerun.connect(_bind_task, weak=False, dispatch_uid="hall.logs.bind")
signals.task_postrun.connect(_unbind_task, weak=False, dispatch_uid="hall.logs.unbind")
