"""The request id: made or taken at the gateway, carried on every service call and in every event the
request causes, and logged by the consumer of that event, so one business is followed across services."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from gateway import create_app as create_gateway
from hall_common import client as service_client
from hall_common import db, logs
from hall_common.consumer import consume
from hall_common.events import make_event
from services.workflow import definitions

from .conftest import EMPLOYER_NO, make_app, outbox_events

HEX_ID = re.compile(r"[0-9a-f]{32}")


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_the_gateway_makes_a_request_id_or_keeps_the_one_it_is_given() -> None:
    client = create_gateway({"TESTING": True}).test_client()
    made = client.get("/login").headers.get(logs.HEADER)
    assert made and HEX_ID.fullmatch(made)
    assert client.get("/login").headers[logs.HEADER] != made  # one per request
    assert client.get("/login", headers={logs.HEADER: "proxy-7f3a.1"}).headers[logs.HEADER] == "proxy-7f3a.1"
    # An id that could forge a log line or run on forever is replaced, not passed on.
    for hostile in ("a b", "x" * 65, "id\"}{", "名字"):
        answered = client.get("/login", headers={logs.HEADER: hostile}).headers[logs.HEADER]
        assert HEX_ID.fullmatch(answered), hostile


class _Capture(BaseHTTPRequestHandler):
    seen: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        type(self).seen.append(self.headers.get(logs.HEADER))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def callee() -> Iterator[str]:
    _Capture.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_every_service_call_carries_the_current_request_id(callee: str) -> None:
    api = service_client.ServiceClient("employer", base_url=callee)
    with logs.bound("req-1"):
        api.request("GET", "/one")
        # Calls made at once run on other threads: they carry the caller's id all the same.
        service_client.gather(lambda: api.request("GET", "/a"), lambda: api.request("GET", "/b"),
                              lambda: api.request("GET", "/c"))
    api.request("GET", "/none")  # no request in hand (a beat task): no header made up
    assert _Capture.seen == ["req-1", "req-1", "req-1", "req-1", None]


def test_a_service_answers_under_the_callers_request_id_and_its_events_carry_it(
        employer_headers: dict[str, str], log_lines: io.StringIO) -> None:
    app = make_app("employer")
    response = app.test_client().post(
        f"/employers/{EMPLOYER_NO}/change-requests", headers={**employer_headers, logs.HEADER: "biz-42"},
        json={"changes": [{"field": "contact_name", "value": "张三丰"}]})
    assert response.status_code == 201, response.get_json()
    assert response.headers[logs.HEADER] == "biz-42"
    # The service's own log line of the write names the request.
    [line] = [r for r in records(log_lines) if r["logger"] == "hall.access"]
    assert line["message"] == f"POST /employers/{EMPLOYER_NO}/change-requests 201"
    assert line["request_id"] == "biz-42"
    [submitted] = [e for e in outbox_events(app) if e["type"] == "business.submitted"]
    assert submitted[logs.EVENT_ATTRIBUTE] == "biz-42"
    # A CloudEvents extension attribute: lowercase letters and digits, at most 20 of them.
    assert re.fullmatch(r"[a-z0-9]{1,20}", logs.EVENT_ATTRIBUTE)


def test_an_event_made_outside_any_request_has_no_request_id() -> None:
    assert logs.EVENT_ATTRIBUTE not in make_event("employer", "employer.info_changed", {})
    with logs.bound("r-9"):
        assert make_event("employer", "employer.info_changed", {})[logs.EVENT_ATTRIBUTE] == "r-9"


def test_the_consumer_logs_and_passes_on_the_request_id_of_the_event(
        monkeypatch: pytest.MonkeyPatch, log_lines: io.StringIO, employer_headers: dict[str, str]) -> None:
    """The employer's submission reaches the workflow service: its log line names the request, and the
    process events it emits for notify carry it on."""
    employer = make_app("employer")
    response = employer.test_client().post(
        f"/employers/{EMPLOYER_NO}/change-requests", headers={**employer_headers, logs.HEADER: "follow-me"},
        json={"changes": [{"field": "contact_name", "value": "李四"}]})
    assert response.status_code == 201, response.get_json()
    [submitted] = [e for e in outbox_events(employer) if e["type"] == "business.submitted"]

    monkeypatch.setattr(definitions, "center_groups", lambda: [
        {"code": "handler", "name": "经办"}, {"code": "reviewer", "name": "复核"}, {"code": "chief", "name": "负责人"}])
    workflow = make_app("workflow", seed=False)
    with workflow.app_context():
        assert consume(submitted) == "processed"
        db.session().commit()
    handled = [r for r in records(log_lines) if r["message"].startswith(f"event {submitted['id']} ")]
    assert len(handled) == 1
    assert handled[0]["request_id"] == "follow-me"
    assert handled[0]["service"] == "workflow"
    assert handled[0]["level"] == "INFO" and handled[0]["time"]
    emitted = outbox_events(workflow)
    assert {e["type"] for e in emitted} >= {"process.started", "task.created"}
    assert {e.get(logs.EVENT_ATTRIBUTE) for e in emitted} == {"follow-me"}
    assert logs.current_request_id() is None  # the worker's next event does not inherit it


def test_a_job_queued_during_a_request_runs_under_its_request_id() -> None:
    """A heavy job (an import) queued by a request: the worker that runs it logs under the same id. A
    real worker thread on Celery's in-memory broker, so the id travels in the message as it does on Redis."""
    from celery import Celery
    from celery.contrib.testing.worker import start_worker

    celery = Celery("request-id-test", broker="memory://", backend="cache+memory://")
    seen: list[str | None] = []

    @celery.task(name="employer.sample_job")
    def sample_job() -> None:
        seen.append(logs.current_request_id())

    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        with logs.bound("import-7"):
            sample_job.apply_async().get(timeout=10)
        sample_job.apply_async().get(timeout=10)  # queued by nobody's request (beat): no id
    assert seen == ["import-7", None]
    assert logs.current_request_id() is None
