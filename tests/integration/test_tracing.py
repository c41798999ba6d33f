"""Traces on the running system: with ``HALL_OTEL_EXPORTER=jsonl:<file>`` every process of a stack of its
own writes its spans to one file, and one business is one trace across the processes: the request that
started it, the service calls it made, and, through the events' ``traceparent``, each worker's handling
of the events it caused, whenever the outbox relayed them. Each span names its process
(``service.name``), and the log lines written under a span name its trace."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.stack import Stack
from hall_common.settings import SERVICES

from . import helpers
from .events_support import Console
from .helpers import center_api, employer_api, messages, open_task_for, wait_for
from .test_observability import json_lines

pytestmark = pytest.mark.integration
EMPLOYER = helpers.EMPLOYER


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own with tracing on (the session's stack, like make run, runs without). Its demo
    accounts start with their initial passwords, whatever the session's stack changed them to."""
    from tests.conftest import running_stack

    var_dir = tmp_path_factory.mktemp("traced")
    saved = dict(helpers._passwords)
    helpers._passwords.clear()
    try:
        with running_stack(var_dir, {"HALL_OTEL_EXPORTER": f"jsonl:{var_dir / 'spans.jsonl'}",
                                     "OTEL_BSP_SCHEDULE_DELAY": "200"},  # ms: spans reach the file at once
                           tag="_traced") as running:
            yield running
    finally:
        helpers._passwords.clear()
        helpers._passwords.update(saved)


def spans_of(stack: Stack) -> list[dict[str, Any]]:
    path: Path = stack.var_dir / "spans.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def new_traceparent() -> tuple[str, str, str]:
    """A caller's own trace (as a proxy or a client program in front of the hall may start one)."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def trace_with(stack: Stack, trace_id: str, *names: str) -> list[dict[str, Any]]:
    """The spans of ``trace_id`` once spans with each of ``names`` have arrived."""
    def found() -> list[dict[str, Any]] | None:
        spans = [s for s in spans_of(stack) if s["trace_id"] == trace_id]
        return spans if set(names) <= {s["name"] for s in spans} else None

    return wait_for(found, what=f"the spans {names} of trace {trace_id}")


def one(spans: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    matching = [s for s in spans if all(s.get(k) == v for k, v in fields.items())]
    assert len(matching) == 1, (fields, [(s["service"], s["name"], s["kind"]) for s in spans])
    return matching[0]


def test_one_business_is_one_trace_across_the_gateway_the_services_and_the_workers(traced: Stack) -> None:
    employer = employer_api(traced)

    # The employer's change (a program's call to the owning service): the request, then the workflow
    # worker starting the approval (business.submitted), then notify recording the process for 待办.
    submit_trace, caller_span, traceparent = new_traceparent()
    submitted = employer.call("POST", "employer", f"/employers/{EMPLOYER}/change-requests",
                              json={"changes": [{"field": "contact_name", "value": "追踪者"}]},
                              headers={"traceparent": traceparent})
    assert submitted.status_code == 201, submitted.text
    spans = trace_with(traced, submit_trace, "workflow handle business.submitted", "notify handle process.started")
    request = one(spans, service="hall-employer", kind="SERVER", parent_span_id=caller_span)
    assert str(request["attributes"].get("http.route")).endswith("/change-requests")
    # The request's statements are spans of it (SQLAlchemy).
    assert any(s["service"] == "hall-employer" and s["kind"] == "CLIENT" and s["parent_span_id"] == request["span_id"]
               for s in spans)
    started = one(spans, name="workflow handle business.submitted")
    assert started["service"] == "hall-worker" and started["kind"] == "CONSUMER"
    assert started["parent_span_id"] == request["span_id"]  # emitted under the request, handled later
    assert started["attributes"]["hall.service"] == "workflow"
    recorded = one(spans, name="notify handle process.started")
    assert recorded["parent_span_id"] == started["span_id"]  # emitted by the workflow's handling

    # The center approves through the console (the gateway): the gateway's page, its call to the
    # workflow service completing the task, the employer service applying the change on the worker
    # (business.approved) and notify writing the employer's message (employer.info_changed).
    task_id = open_task_for(center_api(traced), submitted.json()["request"]["id"])["task"]["id"]
    before = {m["id"] for m in messages(employer)}
    approve_trace, browser_span, traceparent = new_traceparent()
    console = Console(traced)
    try:
        page = console.get(f"/admin/tasks/{task_id}")
        assert page.status_code == 200, page.text
        done = console.client.post(f"/admin/tasks/{task_id}", headers={"traceparent": traceparent}, data={
            "csrf_token": console._token(page.text), "decision": "approve", "opinion": "同意"},
            follow_redirects=False)
        assert done.status_code == 302, done.text
    finally:
        console.close()
    wait_for(lambda: [m for m in messages(employer) if m["id"] not in before] or None,
             what="the employer's message about the approved change")
    spans = trace_with(traced, approve_trace, "employer handle business.approved",
                       "notify handle employer.info_changed")
    page_span = one(spans, service="hall-gateway", kind="SERVER", parent_span_id=browser_span)
    assert page_span["attributes"].get("http.request.method", page_span["attributes"].get("http.method")) == "POST"
    [completed] = [s for s in spans if s["service"] == "hall-workflow" and s["kind"] == "SERVER"
                   and s["attributes"].get("http.route") == "/tasks/<int:task_id>/complete"]
    call = one(spans, span_id=completed["parent_span_id"])  # the gateway's service call carried the trace
    assert call["service"] == "hall-gateway" and call["kind"] == "CLIENT"
    applied = one(spans, name="employer handle business.approved")
    assert applied["service"] == "hall-worker" and applied["parent_span_id"] == completed["span_id"]
    notified = one(spans, name="notify handle employer.info_changed")
    assert notified["service"] == "hall-worker" and notified["parent_span_id"] == applied["span_id"]
    assert {s["service"] for s in spans} >= {"hall-gateway", "hall-workflow", "hall-worker"}

    # The worker's log line of each handling names its trace and span: logs and traces join.
    def handled_lines() -> list[dict[str, Any]] | None:
        lines = [r for r in json_lines(traced.log_dir / "worker.log")
                 if r.get("logger") == "hall_common.consumer" and r.get("trace_id") == approve_trace]
        return lines if len(lines) >= 2 else None

    lines = wait_for(handled_lines, what=f"the worker's log lines of trace {approve_trace}")
    assert {r["span_id"] for r in lines} >= {applied["span_id"], notified["span_id"]}

    # The plumbing (beat's relay every half second, the relay threads' publishes, the delivery of each
    # message of events, probes) starts no trace of its own: the file holds businesses, not noise.
    everything = spans_of(traced)
    assert not [s for s in everything if s["name"].endswith(("relay_outbox", "housekeeping"))]
    roots = [s for s in everything if s["parent_span_id"] is None]
    assert not [s for s in roots if s["kind"] not in ("SERVER", "CONSUMER") or s["name"].endswith("handle_event")]
    assert {s["service"] for s in everything} <= {
        "hall-gateway", "hall-worker", "hall-heavy", *(f"hall-{name}" for name in SERVICES)}
