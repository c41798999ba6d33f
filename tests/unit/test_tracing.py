"""Traces: off unless asked for (nothing installed, nothing carried), and when on an event carries the
span that emitted it (CloudEvents ``traceparent``) so its consumer's handling, its log lines and the
events it emits in turn continue that trace. A real SDK tracer provider, kept in memory."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from hall_common import db, tracing
from hall_common.consumer import consume
from hall_common.events import make_event
from hall_common.settings import Settings, get_settings
from services.workflow import definitions

from .conftest import EMPLOYER_NO, make_app, outbox_events

# W3C Trace Context: version, trace id, parent span id, flags (01: sampled; the SDK adds 02, random ids).
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-0[13]")


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Tracing on in this test only: the hall's sampler on a provider of the test's own (the global
    provider, which a process sets once, stays untouched)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=tracing.sampler())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setitem(tracing._state, "provider", provider)
    yield exporter
    provider.shutdown()


def tracer() -> trace.Tracer:
    provider: TracerProvider = tracing._state["provider"]
    return provider.get_tracer("test")


def test_tracing_is_off_unless_a_process_asks_for_it(employer_headers: dict[str, str]) -> None:
    assert get_settings().otel_exporter == ""
    assert tracing.configure("employer") is False
    assert not tracing.enabled()
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)  # the API's no-op proxy
    app = make_app("employer")
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    assert app.test_client().get(f"/employers/{EMPLOYER_NO}", headers=employer_headers).status_code == 200
    # Even under someone else's span, an event of a process that does not trace carries no context.
    with TracerProvider().get_tracer("other").start_as_current_span("foreign"):
        event = make_event("employer", "employer.info_changed", {})
    assert tracing.TRACEPARENT not in event and tracing.TRACESTATE not in event
    with tracing.event_span(event, "notify"):
        assert not trace.get_current_span().get_span_context().is_valid


def test_the_setting_names_an_exporter_or_stops_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    for good in ("", "otlp", "jsonl:/var/log/hall/spans.jsonl"):
        monkeypatch.setenv("HALL_OTEL_EXPORTER", good)
        assert Settings().otel_exporter == good
    for bad in ("zipkin", "jsonl:", "OTLP", "jsonl"):
        monkeypatch.setenv("HALL_OTEL_EXPORTER", bad)
        with pytest.raises(ValidationError, match="HALL_OTEL_EXPORTER"):
            Settings()


def test_an_event_carries_the_span_that_emitted_it(spans: InMemorySpanExporter) -> None:
    assert tracing.TRACEPARENT not in make_event("employer", "employer.info_changed", {})  # no span current
    with tracer().start_as_current_span("request", kind=SpanKind.SERVER) as span:
        event = make_event("employer", "employer.info_changed", {})
    context = span.get_span_context()
    assert event[tracing.TRACEPARENT] == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert context.trace_flags.sampled
    assert tracing.TRACESTATE not in event  # none was current
    # A vendor's tracestate that came in with the request travels on with the event.
    incoming = tracing.event_parent({"traceparent": event["traceparent"], "tracestate": "vendor=abc"})
    with tracer().start_as_current_span("handling", context=incoming):
        onward = make_event("notify", "employer.info_changed", {})
    assert onward[tracing.TRACESTATE] == "vendor=abc"
    # Extension attribute names: lowercase letters and digits (CloudEvents 1.0).
    assert all(re.fullmatch(r"[a-z0-9]{1,20}", name) for name in (tracing.TRACEPARENT, tracing.TRACESTATE))


def test_the_consumer_continues_the_events_trace_in_its_logs_and_its_events(
        spans: InMemorySpanExporter, log_lines: io.StringIO, employer_headers: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The employer's submission reaches the workflow service: its handling is a span of the request's
    trace, under the request's span; the process events it emits for notify carry the handling's span."""
    employer = make_app("employer")
    with tracer().start_as_current_span("POST change-requests", kind=SpanKind.SERVER) as request_span:
        response = employer.test_client().post(
            f"/employers/{EMPLOYER_NO}/change-requests", headers=employer_headers,
            json={"changes": [{"field": "contact_name", "value": "张三丰"}]})
    assert response.status_code == 201, response.get_json()
    [submitted] = [e for e in outbox_events(employer) if e["type"] == "business.submitted"]
    requested = request_span.get_span_context()
    assert TRACEPARENT.fullmatch(submitted["traceparent"]).groups() == (  # type: ignore[union-attr]
        f"{requested.trace_id:032x}", f"{requested.span_id:016x}")

    monkeypatch.setattr(definitions, "center_groups", lambda: [
        {"code": "handler", "name": "经办"}, {"code": "reviewer", "name": "复核"}, {"code": "chief", "name": "负责人"}])
    workflow = make_app("workflow", seed=False)
    with tracer().start_as_current_span("run/workflow.handle_event", kind=SpanKind.CONSUMER) as delivery, \
            workflow.app_context():
        assert consume(submitted) == "processed"
        db.session().commit()
    [handling] = [s for s in spans.get_finished_spans() if s.name == "workflow handle business.submitted"]
    assert handling.kind == SpanKind.CONSUMER
    assert handling.context is not None and handling.parent is not None
    assert handling.context.trace_id == requested.trace_id and handling.parent.span_id == requested.span_id
    # The task that delivered it started no trace of its own (plumbing, see below): no link to nothing.
    assert not delivery.is_recording() and not handling.links
    assert handling.attributes is not None
    assert handling.attributes["cloudevents.event_id"] == submitted["id"]
    assert handling.attributes["hall.service"] == "workflow"

    [line] = [json.loads(text) for text in log_lines.getvalue().splitlines()
              if json.loads(text)["message"].startswith(f"event {submitted['id']} ")]
    assert line["trace_id"] == f"{requested.trace_id:032x}"
    assert line["span_id"] == f"{handling.context.span_id:016x}"
    emitted = outbox_events(workflow)
    assert {e["type"] for e in emitted} >= {"process.started", "task.created"}
    assert {TRACEPARENT.fullmatch(e["traceparent"]).groups() for e in emitted} == {  # type: ignore[union-attr]
        (f"{requested.trace_id:032x}", f"{handling.context.span_id:016x}")}
    assert not trace.get_current_span().get_span_context().is_valid  # the next event starts clean


def test_an_event_without_a_usable_traceparent_starts_a_trace_of_its_own(spans: InMemorySpanExporter) -> None:
    for extension in ({}, {"traceparent": "not-a-traceparent"}, {"traceparent": 7}):
        event = {**make_event("employer", "employer.info_changed", {}), **extension}
        with tracing.event_span(event, "notify"):
            context = trace.get_current_span().get_span_context()
        assert context.is_valid and context.trace_flags.sampled, extension
    assert all(s.parent is None for s in spans.get_finished_spans())


def test_a_recorded_delivery_is_linked_from_the_handling(spans: InMemorySpanExporter) -> None:
    """A message a traced request published (its task's run is in that request's trace): the handling
    stays in the event's trace and links the run that delivered it."""
    with tracer().start_as_current_span("request", kind=SpanKind.SERVER):
        event = make_event("employer", "employer.info_changed", {})
        with tracer().start_as_current_span("run/notify.handle_event", kind=SpanKind.CONSUMER) as run, \
                tracing.event_span(event, "notify"):
            pass
    [handling] = [s for s in spans.get_finished_spans() if s.name == "notify handle employer.info_changed"]
    assert [link.context.span_id for link in handling.links] == [run.get_span_context().span_id]


def test_only_requests_and_jobs_start_traces(spans: InMemorySpanExporter) -> None:
    """The relay's publishes and statements outside any request, beat's periodic plumbing and the
    delivery of events (each handled in its business's trace) would bury the businesses: they start no
    trace. Inside a kept trace everything is kept."""
    kept = {("GET /employers/<employer_no>", SpanKind.SERVER), ("run/payment.import_receipts", SpanKind.CONSUMER)}
    dropped = {("apply_async/notify.handle_event", SpanKind.PRODUCER), ("SELECT", SpanKind.CLIENT),
               ("run/employer.relay_outbox", SpanKind.CONSUMER), ("run/employer.housekeeping", SpanKind.CONSUMER),
               ("run/notify.handle_event", SpanKind.CONSUMER),
               ("outbox", SpanKind.INTERNAL)}
    for name, kind in kept | dropped:
        tracer().start_span(name, kind=kind).end()
    with tracer().start_as_current_span("POST /tasks/<int:task_id>/complete", kind=SpanKind.SERVER):
        for name, kind in dropped:
            tracer().start_span("inside " + name, kind=kind).end()
    names = {s.name for s in spans.get_finished_spans()}
    assert names == {name for name, _ in kept} | {"POST /tasks/<int:task_id>/complete"} | {
        "inside " + name for name, _ in dropped}


def test_the_jsonl_exporter_appends_one_object_per_span(tmp_path: Path) -> None:
    path = tmp_path / "spans" / "hall.jsonl"
    provider = TracerProvider(resource=tracing.Resource.create({"service.name": "hall-employer"}))
    provider.add_span_processor(SimpleSpanProcessor(tracing.exporter(f"jsonl:{path}")))
    with provider.get_tracer("test").start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        provider.get_tracer("test").start_span("child", attributes={"db.statement": "SELECT 1"}).end()
    provider.shutdown()
    child, outer = (json.loads(line) for line in path.read_text().splitlines())
    assert outer["name"] == "parent" and outer["kind"] == "SERVER" and outer["parent_span_id"] is None
    assert child["parent_span_id"] == outer["span_id"] == f"{parent.get_span_context().span_id:016x}"
    assert child["trace_id"] == outer["trace_id"] == f"{parent.get_span_context().trace_id:032x}"
    assert child["service"] == "hall-employer" and child["attributes"] == {"db.statement": "SELECT 1"}
    assert child["start"] <= child["end"]
