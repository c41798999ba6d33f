"""The acceptance of the event spine, with real processes: businesses keep flowing while the Celery
worker is SIGKILLed and the Redis process is stopped and started; every business is applied once and
messaged once, and no service records an event as processed that no handler ran."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis

from deploy import demo_data as demo
from deploy.stack import Stack
from hall_common.consumer import COMMON_HANDLERS
from hall_common.permissions import ALL_PERMISSIONS
from hall_common.settings import SERVICES

from .events_support import held_processed_events, rows
from .helpers import Api, center_api, employer_api, submit_change, wait_for

A, B = demo.EMPLOYER_NO, demo.SECOND_EMPLOYER_NO
CYCLES = 12  # per employer: 24 employer info changes in all


def _visibility_timeout(stack: Stack) -> int:
    return int(stack.extra_env["HALL_EVENT_VISIBILITY_TIMEOUT"])


def _recovery_bound(stack: Stack) -> float:
    """Seconds an event may wait after its worker was killed: the visibility timeout of the test stack
    (tests/conftest.py), the sweep interval, a new worker's start, room for a loaded 2-core machine."""
    return _visibility_timeout(stack) + int(stack.extra_env["HALL_EVENT_RESTORE_INTERVAL"]) + 25


def _keep_running(stack: Stack) -> None:
    """Later tests share the stack: whatever happened here, Redis and a worker are up afterwards."""
    if "redis" not in stack.processes:
        stack.start_redis()
    if "worker" not in stack.processes:
        log = stack.log_dir / "worker.log"
        since = log.stat().st_size if log.exists() else 0
        stack.start_worker()
        stack.wait_worker_ready(since)


def _task_of(center: Api, request_id: int, timeout: float) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for row in center.get("workflow", "/tasks", status="open", per_page=200)["items"]:
            instance = row["instance"]
            if instance["business_type"] == "employer_change" and instance["business_id"] == str(request_id):
                return dict(row)
        return None

    return wait_for(find, timeout=timeout, what=f"the center task of request {request_id}")


def _status(api: Api, employer_no: str, request_id: int) -> str | None:
    for row in api.get("employer", f"/employers/{employer_no}/change-requests"):
        if row["id"] == request_id:
            return str(row["status"])
    return None


def test_an_event_held_by_a_killed_worker_comes_back_within_the_visibility_timeout(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    log = stack.log_dir / "worker.log"
    try:
        with held_processed_events(stack, "workflow"):
            since = log.stat().st_size
            submitted = submit_change(employer, {"contact_name": "恢复计时"})
            assert submitted.status_code == 201, submitted.text
            request_id = submitted.json()["request"]["id"]
            # The worker took business.submitted and now waits, in the middle of it, for the database.
            wait_for(lambda: b"workflow.handle_event[" in log.read_bytes()[since:], what="the worker taking the event")
            time.sleep(1)
            stack.kill_process("worker")
            killed = time.monotonic()
        _keep_running(stack)
        task = _task_of(center, request_id, timeout=_recovery_bound(stack) + 30)
        recovery = time.monotonic() - killed
    finally:
        _keep_running(stack)
    print(f"\nevent recovered {recovery:.1f}s after SIGKILL (visibility timeout {_visibility_timeout(stack)}s)")
    assert recovery <= _recovery_bound(stack)
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete", json={"decision": "approve"})
    assert done.status_code == 200, done.text
    wait_for(lambda: _status(employer, A, request_id) == "approved", what="the change applied")


def _queued_event_ids(stack: Stack, queue: str) -> set[str]:
    """The events waiting in a service's queue in Redis (kombu keeps each task body base64-encoded)."""
    client = Redis(port=stack.redis_port)
    try:
        messages = [json.loads(raw) for raw in client.lrange(queue, 0, -1)]
    finally:
        client.close()
    ids = set()
    for message in messages:
        if message["headers"].get("task") == f"{queue}.handle_event":
            args = json.loads(base64.b64decode(message["body"]))[0]
            # One event, or the list of events one relay pass published for the service.
            ids.update(event["id"] for event in (args[0] if isinstance(args[0], list) else [args[0]]))
    return ids


def test_queued_events_survive_a_redis_restart(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    stack.stop_process("worker")
    try:
        submitted = submit_change(employer, {"contact_name": "持久队列"})
        assert submitted.status_code == 201, submitted.text
        request_id = submitted.json()["request"]["id"]
        (event_id,) = [e for e, p in rows(stack, "employer", "SELECT event_id, payload FROM outbox "
                                                             "WHERE type = 'business.submitted'")
                       if json.loads(p)["data"]["business_id"] == str(request_id)]
        wait_for(lambda: event_id in _queued_event_ids(stack, "workflow"), what="the event queued in Redis")
        stack.restart_redis()
        assert event_id in _queued_event_ids(stack, "workflow")  # read back from the append-only file
    finally:
        _keep_running(stack)
    started = time.monotonic()
    task = _task_of(center, request_id, timeout=60)
    # From the kept queue, not from the emitter sending it again for want of a receipt.
    assert time.monotonic() - started < int(stack.extra_env["HALL_EVENT_CONFIRM_AFTER"])
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete", json={"decision": "approve"})
    assert done.status_code == 200, done.text
    wait_for(lambda: _status(employer, A, request_id) == "approved", what="the change applied")


def test_businesses_in_flight_survive_a_killed_worker_and_a_redis_restart(stack: Stack) -> None:
    center = center_api(stack)
    # The second demo account may only query: let it file business for this run.
    granted = center.call("PUT", "auth", f"/auth/operators/{B}/permissions", json={"permissions": ALL_PERMISSIONS})
    assert granted.status_code == 200, granted.text
    apis = {A: employer_api(stack, A, A), B: employer_api(stack, A, B)}
    done: dict[str, list[int]] = {A: [], B: []}
    failures: list[str] = []
    started = time.monotonic()

    def run(employer_no: str) -> None:
        api = apis[employer_no]
        try:
            for cycle in range(CYCLES):
                value = f"验收{employer_no[-1]}号{cycle:02d}"
                submitted = submit_change(api, {"contact_name": value}, employer_no=employer_no)
                assert submitted.status_code == 201, submitted.text
                request_id = submitted.json()["request"]["id"]
                task = _task_of(center, request_id, timeout=90)
                decided = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                                      json={"decision": "approve", "opinion": "同意"})
                assert decided.status_code == 200, decided.text
                wait_for(lambda r=request_id: _status(api, employer_no, r) == "approved",  # type: ignore[misc]
                         timeout=90, what=f"request {request_id} applied")
                done[employer_no].append(request_id)
        except Exception as exc:  # reported by the main thread
            failures.append(f"{employer_no}: {exc!r}")

    threads = [threading.Thread(target=run, args=(e,)) for e in (A, B)]
    try:
        for thread in threads:
            thread.start()

        def completed(count: int) -> bool:
            return len(done[A]) + len(done[B]) >= count or bool(failures) or not any(t.is_alive() for t in threads)

        wait_for(lambda: completed(4), timeout=90, what="four businesses done")
        with _worker_in_the_middle_of_an_event(stack, "notify"):
            stack.kill_process("worker")  # SIGKILL: what it held comes back after the visibility timeout
        _keep_running(stack)
        wait_for(lambda: completed(10), timeout=120, what="ten businesses done")
        stack.restart_redis(down_seconds=3)  # the queues survive in the append-only file
        wait_for(lambda: completed(16), timeout=120, what="sixteen businesses done")
        # Both at once: Redis stopped and the worker killed in the middle of an event, both back.
        with _worker_in_the_middle_of_an_event(stack, "notify"):
            stack.stop_process("redis")
            stack.kill_process("worker")
        time.sleep(2)
        _keep_running(stack)
        for thread in threads:
            thread.join(timeout=240)
    finally:
        _keep_running(stack)
        center.call("PUT", "auth", f"/auth/operators/{B}/permissions", json={"permissions": demo.PERMISSIONS[B]})
    assert failures == []
    assert not any(thread.is_alive() for thread in threads)
    elapsed = time.monotonic() - started
    print(f"\n{2 * CYCLES} businesses in {elapsed:.0f}s through two worker kills and two Redis restarts")

    request_ids = done[A] + done[B]
    assert len(request_ids) == 2 * CYCLES
    _assert_applied_once(stack, request_ids)
    _assert_one_message_each(stack, request_ids)
    _assert_nothing_processed_without_its_handler(stack, request_ids)


@contextmanager
def _worker_in_the_middle_of_an_event(stack: Stack, service: str) -> Iterator[None]:
    """Hold the service's database until the worker has taken one of its events, so that what
    happens next (a kill) catches the worker holding an unacknowledged event."""
    log = stack.log_dir / "worker.log"
    with held_processed_events(stack, service):
        since = log.stat().st_size
        wait_for(lambda: f"{service}.handle_event[".encode() in log.read_bytes()[since:], timeout=60,
                 what=f"the worker taking a {service} event")
        time.sleep(0.5)
        yield


def _in(ids: list[int]) -> str:
    return ",".join(str(int(i)) for i in ids)


def _assert_applied_once(stack: Stack, request_ids: list[int]) -> None:
    statuses = dict(rows(stack, "employer", f"SELECT id, status FROM change_requests WHERE id IN ({_in(request_ids)})"))
    assert statuses == {r: "approved" for r in request_ids}
    history = Counter(r for (r,) in rows(
        stack, "employer", f"SELECT request_id FROM change_history WHERE request_id IN ({_in(request_ids)})"))
    assert history == Counter({r: 1 for r in request_ids})  # one field per request, applied once
    instances = Counter(b for (b,) in rows(
        stack, "workflow", "SELECT business_id FROM process_instances WHERE business_type = 'employer_change'"))
    assert all(instances[str(r)] == 1 for r in request_ids)
    approved = [json.loads(p)["data"] for (p,) in rows(
        stack, "workflow", "SELECT payload FROM outbox WHERE type = 'business.approved'")]
    # Other businesses (a base adjustment, a member change) number their own: the type tells them apart.
    outcomes = Counter(d["business_id"] for d in approved if d["business_type"] == "employer_change")
    assert all(outcomes[str(r)] == 1 for r in request_ids)


def _assert_one_message_each(stack: Stack, request_ids: list[int]) -> None:
    def messages() -> Counter[str]:
        return Counter(b for (b,) in rows(
            stack, "notify", "SELECT business_id FROM inbox_items WHERE business_type = 'employer_change' "
                             "AND box IN ('message', 'read')"))

    # A message held by a killed worker may still be on its way back.
    wait_for(lambda: all(messages()[str(r)] for r in request_ids), timeout=90, what="every message")
    counted = messages()
    assert {r: counted[str(r)] for r in request_ids} == {r: 1 for r in request_ids}


def _assert_nothing_processed_without_its_handler(stack: Stack, request_ids: list[int]) -> None:
    import importlib

    for service in SERVICES:
        handled = set(importlib.import_module(f"services.{service}").RUNTIME.handlers) | set(COMMON_HANDLERS)
        recorded = {t for (t,) in rows(stack, service, "SELECT DISTINCT type FROM processed_events")}
        assert recorded <= handled, (service, recorded - handled)
    # Every event of these businesses was processed once by each service it went to, and the
    # handler's work is there: the process started, the change decided, the message written.
    ours = {str(r) for r in request_ids}

    def events(service: str, *types: str) -> dict[str, dict[str, Any]]:
        listed = ", ".join(f"'{t}'" for t in types)
        found = {e: json.loads(p)["data"] for e, p in rows(
            stack, service, f"SELECT event_id, payload FROM outbox WHERE type IN ({listed})")}
        return {e: d for e, d in found.items()
                if d.get("business_type") == "employer_change" and d["business_id"] in ours}

    def processed(service: str) -> set[str]:
        return {e for (e,) in rows(stack, service, "SELECT event_id FROM processed_events")}

    submitted = events("employer", "business.submitted")
    outcomes = events("workflow", "business.approved", "business.rejected")
    results = events("employer", "employer.info_changed", "employer.info_change_rejected")
    assert len(submitted) == len(outcomes) == len(results) == len(request_ids)
    assert set(submitted) <= processed("workflow")
    assert set(outcomes) <= processed("employer")
    assert set(results) <= processed("notify")
    started = {b for (b,) in rows(stack, "workflow", "SELECT business_id FROM process_instances "
                                                     "WHERE business_type = 'employer_change'")}
    assert {d["business_id"] for d in submitted.values()} <= started
    messaged = Counter(s for (s,) in rows(stack, "notify", "SELECT source_event_id FROM inbox_items"))
    assert {e: messaged[e] for e in results} == {e: 1 for e in results}
