"""Observability on the running system: every process answers a Prometheus scrape, and one request id
follows a center's approval from the gateway through the workflow service and the events to the
employer's message, in every process's JSON logs."""

from __future__ import annotations

import json
import uuid
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deploy.stack import Stack
from hall_common.settings import SERVICES

from .events_support import Console
from .helpers import center_api, employer_api, messages, open_task_for, submit_change, wait_for

pytestmark = pytest.mark.integration


def scrape(url: str) -> dict[str, list[Any]] | None:
    """Family name -> samples of one scrape, or None while the process does not answer yet."""
    try:
        answer = httpx.get(url, timeout=5)
    except httpx.HTTPError:
        return None
    if answer.status_code != 200:
        return None
    return {family.name: family.samples for family in text_string_to_metric_families(answer.text)}


def labelled(samples: list[Any], **labels: str) -> list[Any]:
    return [s for s in samples if all(s.labels.get(k) == v for k, v in labels.items())]


def test_every_process_serves_its_metrics(stack: Stack) -> None:
    for service in SERVICES:
        assert httpx.get(stack.url(service) + "/health", timeout=5).status_code == 200
        found = wait_for(partial(scrape, stack.url(service) + "/metrics"), what=f"{service}'s metrics")
        assert labelled(found["hall_outbox_depth"], service=service), service
        assert labelled(found["hall_dead_letters"], service=service, status="dead"), service
        # The /health call just made is counted under its route.
        assert labelled(found["hall_http_requests"], process=service, route="/health", status="200"), service
    assert httpx.get(stack.url("gateway") + "/login", timeout=5).status_code == 200
    gateway = wait_for(lambda: scrape(stack.url("gateway") + "/metrics"), what="the gateway's metrics")
    assert labelled(gateway["hall_http_requests"], process="gateway", route="/login", status="200")
    assert "hall_live_streams" in gateway
    for name, port in stack.metrics_ports.items():
        url = f"http://127.0.0.1:{port}/metrics"
        found = wait_for(partial(scrape, url), what=f"the metrics of {name}")
        assert found["hall_queue_length"], name
    heavy_queue = scrape(f"http://127.0.0.1:{stack.metrics_ports['heavy']}/metrics")
    assert heavy_queue and [s.labels["queue"] for s in heavy_queue["hall_queue_length"]] == ["heavy"]

    def relays_timed() -> bool | None:
        """The event workers run the periodic relay every half second: their task durations show it."""
        for name in ("worker-1", "worker-2"):
            found = scrape(f"http://127.0.0.1:{stack.metrics_ports[name]}/metrics") or {}
            counts = [s for s in found.get("hall_task_duration_seconds", [])
                      if s.name.endswith("_count") and s.labels.get("task", "").endswith(".relay_outbox")]
            if counts and counts[0].value > 0:
                return True
        return None

    wait_for(relays_timed, what="a worker's timed relay tasks")


def json_lines(path: Path) -> list[dict[str, Any]]:
    found = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def test_one_request_id_follows_an_approval_from_the_gateway_to_the_message(stack: Stack) -> None:
    employer = employer_api(stack)
    submitted = submit_change(employer, {"contact_name": "观测者"})
    assert submitted.status_code == 201, submitted.text
    task = open_task_for(center_api(stack), submitted.json()["request"]["id"])
    task_id = task["task"]["id"]
    before = {m["id"] for m in messages(employer)}

    request_id = f"it-{uuid.uuid4().hex}"
    console = Console(stack)
    try:
        page = console.get(f"/admin/tasks/{task_id}")
        assert page.status_code == 200, page.text
        done = console.client.post(f"/admin/tasks/{task_id}", headers={"X-Request-Id": request_id}, data={
            "csrf_token": console._token(page.text), "decision": "approve", "opinion": "同意"})
        assert done.status_code == 200, done.text
        assert done.history and done.history[0].headers["X-Request-Id"] == request_id
    finally:
        console.close()
    wait_for(lambda: [m for m in messages(employer) if m["id"] not in before] or None,
             what="the employer's message about the approved change")

    def traced() -> dict[str, list[dict[str, Any]]] | None:
        lines = {name: [r for r in json_lines(stack.log_dir / f"{name}.log") if r.get("request_id") == request_id]
                 for name in ("gateway", "workflow", "worker")}
        handled = {r.get("service") for r in lines["worker"] if r.get("logger") == "hall_common.consumer"}
        return lines if {"employer", "notify"} <= handled else None

    lines = wait_for(traced, what=f"the log lines of request {request_id}")
    # The gateway's page, the workflow service's task completion, then the owner applying the change
    # (business.approved) and notify writing the message (employer.info_changed) on the event worker.
    assert any(r["message"] == f"POST /admin/tasks/{task_id} 302" for r in lines["gateway"]), lines["gateway"]
    assert any(r["message"] == f"POST /tasks/{task_id}/complete 200" for r in lines["workflow"]), lines["workflow"]
    consumed = {(r["service"], r["message"].split(" ")[2]) for r in lines["worker"]
                if r.get("logger") == "hall_common.consumer"}
    assert ("employer", "(business.approved)") in consumed
    assert ("notify", "(employer.info_changed)") in consumed
