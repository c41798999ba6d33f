"""Distributed traces (OpenTelemetry): one business followed as one trace across every process.

Off by default (``HALL_OTEL_EXPORTER`` empty): no tracer provider is installed, nothing is instrumented,
and the hooks below cost a flag test, so ``make run``, the tests and ``make bench`` pay nothing. On, each
process installs the SDK once, named ``hall-<process>`` (``hall-gateway``, ``hall-employer``, …,
``hall-worker``, ``hall-heavy``), with the maintained instrumentations: Flask (every incoming request),
urllib3 (every service call: it carries the W3C ``traceparent`` header), SQLAlchemy (every statement)
and Celery (a job a request queues runs in the request's trace). Spans leave through a
BatchSpanProcessor, flushed when the process exits, to:

- ``otlp``: the OTLP/HTTP exporter, configured by the standard ``OTEL_EXPORTER_OTLP_ENDPOINT`` (a
  collector or Jaeger; deploy/compose.yaml runs one);
- ``jsonl:<path>``: one JSON object per finished span appended to a file (``JsonLinesExporter``), for
  the integration test and for an operator without a collector.

Events cross processes through the outbox, later, on another thread: ``make_event`` stores the current
span's context in the event as the CloudEvents Distributed Tracing extension (``traceparent``,
``tracestate``), and the consumer handles the event in a span whose parent is that context
(``event_span``), so the event's handling joins the trace of the request that caused it, however and
whenever the event was delivered. docs/observability.md ("Traces") tells an operator the rest.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from .settings import get_settings

if TYPE_CHECKING:
    from flask import Flask

# CloudEvents Distributed Tracing extension attributes (W3C Trace Context values).
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
SERVICE_PREFIX = "hall-"
# Probes and scrapes every few seconds are not business: no trace of them (Flask's excluded_urls).
EXCLUDED_URLS = "/health,/metrics"
# Celery tasks whose runs start no trace (see _Roots): what beat fires every second or hour, and the
# delivery of events, each of which continues the trace of the business that emitted it (event_span).
PLUMBING_TASKS = (".relay_outbox", ".housekeeping", ".handle_event")

_propagator = TraceContextTextMapPropagator()
_lock = threading.Lock()
_state: dict[str, Any] = {"provider": None}


def enabled() -> bool:
    """Whether this process traces (``configure`` installed a provider)."""
    return _state["provider"] is not None


def configure(process: str) -> bool:
    """Install the SDK for this process if ``HALL_OTEL_EXPORTER`` asks for it; True if tracing is on.
    The first caller names the process, as for the logs: a worker builds every service's app, and its
    spans are the worker's (the consumer's span names the service whose handler ran)."""
    with _lock:
        if _state["provider"] is not None:
            return True
        setting = get_settings().otel_exporter
        if not setting:
            return False
        provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_PREFIX + process}),
                                  sampler=sampler())
        provider.add_span_processor(BatchSpanProcessor(exporter(setting)))
        trace.set_tracer_provider(provider)
        _state["provider"] = provider
        atexit.register(provider.shutdown)  # flushes the spans still in the batch
        _instrument_libraries()
        return True


def _instrument_libraries() -> None:
    """urllib3 (service calls), SQLAlchemy (engines made from now on) and Celery, once per process."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.instrumentation.urllib3 import URLLib3Instrumentor

    URLLib3Instrumentor().instrument()
    # It wraps sqlalchemy.create_engine (hall_common.db calls it later). Its declared range ends below
    # SQLAlchemy 2.1, whose engine events it hooks are unchanged (tests/integration/test_tracing.py
    # sees the statements' spans): without the skip it would instrument nothing.
    SQLAlchemyInstrumentor().instrument(skip_dep_check=True)
    CeleryInstrumentor().instrument()


def exporter(setting: str) -> SpanExporter:
    """The exporter a ``HALL_OTEL_EXPORTER`` value names (Settings checked its form)."""
    if setting == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), headers, timeout: the standard env
    return JsonLinesExporter(setting.removeprefix("jsonl:"))


def init_app(app: Flask, process: str) -> None:
    """Trace every request of ``app`` (a service or the gateway) if tracing is on."""
    if not configure(process):
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS)


# -- events --------------------------------------------------------------------------------------------

def event_attributes() -> dict[str, str]:
    """The current span's context as CloudEvents extension attributes (``traceparent``, and
    ``tracestate`` if there is one); empty when tracing is off or no span is current."""
    if _state["provider"] is None:
        return {}
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return {key: carrier[key] for key in (TRACEPARENT, TRACESTATE) if carrier.get(key)}


def event_parent(event: Mapping[str, Any]) -> Context:
    """The context an event's ``traceparent``/``tracestate`` name (an empty one if none or malformed:
    the handling then starts a trace of its own)."""
    carrier = {key: value for key in (TRACEPARENT, TRACESTATE)
               if isinstance(value := event.get(key), str)}
    return _propagator.extract(carrier)


def event_span(event: Mapping[str, Any], service: str) -> Any:
    """A context manager: ``service`` handles ``event`` in a span continuing the event's trace, linked
    to the span that delivered it (the Celery task's). A no-op when tracing is off."""
    if _state["provider"] is None:
        return nullcontext()
    return _event_span(event, service)


@contextmanager
def _event_span(event: Mapping[str, Any], service: str) -> Iterator[None]:
    delivering = trace.get_current_span().get_span_context()
    links = [Link(delivering)] if delivering.is_valid and delivering.trace_flags.sampled else []
    attributes = {"cloudevents.event_id": str(event.get("id")), "cloudevents.event_type": str(event.get("type")),
                  "cloudevents.event_source": str(event.get("source")), "hall.service": service}
    if event.get("subject"):
        attributes["cloudevents.event_subject"] = str(event["subject"])
    tracer = _state["provider"].get_tracer(__name__)
    with tracer.start_as_current_span(f"{service} handle {event.get('type')}", context=event_parent(event),
                                      kind=SpanKind.CONSUMER, links=links, attributes=attributes):
        yield


# -- logs ----------------------------------------------------------------------------------------------

def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span in the W3C hex form, or None if none is recording."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


# -- sampling ------------------------------------------------------------------------------------------

def sampler() -> Sampler:
    """Every span follows its parent's decision; a span without one starts a trace only as _Roots says."""
    return ParentBased(root=_Roots())


class _Roots(Sampler):
    """Which spans may start a trace (every other span follows its parent's decision, ParentBased): a
    request, and a Celery job other than the plumbing. Not a relay thread's publish, a statement outside
    any request or the periodic relay (every second in every worker): those would bury the businesses
    under traces of nothing. An event published from such a thread still continues its own business's
    trace (event_span)."""

    def should_sample(self, parent_context: Context | None, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Attributes = None,
                      links: Sequence[Link] | None = None, trace_state: Any = None) -> SamplingResult:
        keep = kind == SpanKind.SERVER or (kind == SpanKind.CONSUMER and not name.endswith(PLUMBING_TASKS))
        return SamplingResult(Decision.RECORD_AND_SAMPLE if keep else Decision.DROP, attributes if keep else None)

    def get_description(self) -> str:
        return "HallRoots"


# -- the jsonl exporter --------------------------------------------------------------------------------

def _hex(value: int | None, width: int) -> str | None:
    return None if value is None else format(value, f"0{width}x")


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """One finished span as a flat JSON object (ids in W3C hex, times in ns since the epoch)."""
    context = span.get_span_context()
    parent = span.parent
    return {
        "name": span.name,
        "service": span.resource.attributes.get("service.name"),
        "trace_id": _hex(context.trace_id if context else None, 32),
        "span_id": _hex(context.span_id if context else None, 16),
        "parent_span_id": _hex(parent.span_id if parent else None, 16),
        "kind": span.kind.name,
        "start": span.start_time,
        "end": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "links": [{"trace_id": _hex(link.context.trace_id, 32), "span_id": _hex(link.context.span_id, 16)}
                  for link in span.links],
    }


class JsonLinesExporter(SpanExporter):
    """Appends one JSON object per finished span to a file. Several processes may share the file: each
    batch is one ``write`` on a descriptor opened for appending, so their lines do not interleave."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        text = "".join(json.dumps(span_record(span), ensure_ascii=False, default=str) + "\n" for span in spans)
        try:
            with self._lock:
                directory = os.path.dirname(self.path)
                if directory:
                    os.makedirs(directory, exist_ok=True)
                descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    os.write(descriptor, text.encode())
                finally:
                    os.close(descriptor)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
