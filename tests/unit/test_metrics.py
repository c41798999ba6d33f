"""Prometheus metrics: what a scrape of a service, the gateway, a worker and several gunicorn workers shows."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from celery import Celery
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from gateway import create_app as create_gateway
from gateway.stream import Hub
from hall_common import db, metrics
from hall_common.outbox import emit

from .conftest import make_app

ROOT = Path(__file__).resolve().parents[2]


def scrape(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and labels."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def service_metrics(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return scrape(response.get_data(as_text=True))


def test_a_service_counts_and_times_its_requests_by_route_template() -> None:
    app = make_app("employer", seed=False)
    before = service_metrics(app)
    client = app.test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/employers/100100001").status_code == 401  # no token: counted with its status
    assert client.get("/employers/100100002").status_code == 401
    after = service_metrics(app)

    def delta(name: str, **labels: str) -> float:
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert delta("hall_http_requests_total", process="employer", method="GET", route="/health", status="200") == 1
    # Two employers, one series: the route's template, never the concrete path.
    assert delta("hall_http_requests_total", process="employer", method="GET", route="/employers/<employer_no>",
                 status="401") == 2
    assert delta("hall_http_request_duration_seconds_count", process="employer", method="GET", route="/health") == 1
    assert not any("100100001" in dict(labels).get("route", "") for _, labels in after)


def test_a_service_shows_its_unsent_events_and_dead_letters_as_they_are_now() -> None:
    app = make_app("employer", seed=False)
    first = service_metrics(app)
    assert sample(first, "hall_outbox_depth", service="employer") == 0
    assert sample(first, "hall_outbox_oldest_age_seconds", service="employer") == 0
    assert sample(first, "hall_dead_letters", service="employer", status="dead") == 0
    with app.app_context():
        emit(db.session(), "employer.info_changed", {"employer_no": "100100001"})
        emit(db.session(), "employer.info_changed", {"employer_no": "100100001"})
        db.session().commit()
        from hall_common import dead_letters

        dead_letters.bury({"id": "e-1", "type": "employer.info_changed", "data": {}}, "坏了", 5, db.utcnow())
        db.session().commit()
    second = service_metrics(app)
    assert sample(second, "hall_outbox_depth", service="employer") == 2
    assert (sample(second, "hall_outbox_oldest_age_seconds", service="employer") or 0) >= 0
    assert sample(second, "hall_dead_letters", service="employer", status="dead") == 1


def test_the_outbox_age_is_that_of_the_oldest_unsent_event() -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from hall_common.runtime import get_runtime

    app = make_app("employer", seed=False)
    with app.app_context():
        emit(db.session(), "employer.info_changed", {"employer_no": "100100001"})
        outbox = get_runtime().plumbing.outbox
        db.session().execute(update(outbox).values(created_at=db.utcnow() - timedelta(minutes=10)))
        db.session().commit()
    age = sample(service_metrics(app), "hall_outbox_oldest_age_seconds", service="employer") or 0
    assert 600 <= age < 660


def test_the_metrics_route_is_public_and_documented_like_health() -> None:
    app = make_app("member", seed=False)
    spec = app.test_client().get("/openapi.json").get_json()
    assert "/metrics" in spec["paths"]
    assert app.test_client().get("/metrics", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert app.test_client().get("/metrics").status_code == 200


def test_the_gateway_counts_its_pages_and_the_live_streams_it_holds() -> None:
    gateway = create_gateway({"TESTING": True})
    client = gateway.test_client()
    assert client.get("/login").status_code == 200
    found = scrape(client.get("/metrics").get_data(as_text=True))
    assert (sample(found, "hall_http_requests_total", process="gateway", method="GET", route="/login",
                   status="200") or 0) >= 1

    async def streams() -> list[float]:
        hub = Hub("redis://127.0.0.1:1/0")
        seen = []
        one = hub.open("100100001", "live-a")
        two = hub.open("100100002", "live-b")
        seen.append(metrics.LIVE_STREAMS._value.get())
        hub.close("100100001", one, "live-a")
        hub.close("100100001", one, "live-a")  # the stream's own end and its response's: counted once
        seen.append(metrics.LIVE_STREAMS._value.get())
        hub.close("100100002", two, "live-b")
        seen.append(metrics.LIVE_STREAMS._value.get())
        await hub.redis.aclose()
        return seen

    # On a thread of its own: after the browser tests, this process's main thread runs Playwright's loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, streams()).result() == [2, 1, 0]
    assert "hall_live_streams 0.0" in client.get("/metrics").get_data(as_text=True)


def test_a_worker_times_its_tasks_and_serves_them_with_its_queue_lengths(monkeypatch: pytest.MonkeyPatch) -> None:
    celery = Celery("metrics-test", broker="memory://")
    celery.conf.task_always_eager = True

    @celery.task(name="employer.sample_task")
    def sample_task(fail: bool) -> str:
        if fail:
            raise ValueError("bad")
        return "ok"

    metrics.init_celery([])
    before = scrape(metrics.exposition().decode())
    sample_task.apply(args=[False])
    sample_task.apply(args=[True])
    after = scrape(metrics.exposition().decode())

    def delta(name: str, **labels: str) -> float:
        return (sample(after, name, **labels) or 0) - (sample(before, name, **labels) or 0)

    assert delta("hall_task_duration_seconds_count", task="employer.sample_task") == 2
    assert delta("hall_task_runs_total", task="employer.sample_task", state="SUCCESS") == 1
    assert delta("hall_task_runs_total", task="employer.sample_task", state="FAILURE") == 1

    class Lengths:
        def llen(self, queue: str) -> int:
            return {"employer": 3, "heavy": 1}.get(queue, 0)

    collector = metrics.QueueCollector(["employer", "heavy"])
    monkeypatch.setattr(metrics, "_queue_client", lambda: contextlib.nullcontext(Lengths()))
    server = metrics.start_server(0, [collector])
    try:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5) as answer:
            served = scrape(answer.read().decode())
    finally:
        server.shutdown()
        server.server_close()
    assert sample(served, "hall_queue_length", queue="employer") == 3
    assert sample(served, "hall_queue_length", queue="heavy") == 1



def test_a_scrape_in_multiprocess_mode_sums_every_worker_process(tmp_path: Path) -> None:
    """Two gunicorn workers each answered requests; a scrape of either answers for both."""
    directory = tmp_path / "prom"
    directory.mkdir()
    env = {**os.environ, metrics.MULTIPROCESS_ENV: str(directory), "PYTHONPATH": str(ROOT)}
    count = textwrap.dedent("""
        import sys
        from hall_common import metrics
        for _ in range(int(sys.argv[1])):
            metrics.HTTP_REQUESTS.labels("auth", "GET", "/health", "200").inc()
        metrics.LIVE_STREAMS.set(int(sys.argv[1]))
    """)
    for requests in (2, 3):
        subprocess.run([sys.executable, "-c", count, str(requests)], env=env, check=True, timeout=60)
    scrape_all = "from hall_common import metrics; print(metrics.exposition().decode())"
    out = subprocess.run([sys.executable, "-c", scrape_all], env=env, check=True, timeout=60,
                         capture_output=True, text=True).stdout
    found = scrape(out)
    assert sample(found, "hall_http_requests_total", process="auth", method="GET", route="/health",
                  status="200") == 5


def test_under_gunicorn_a_dead_workers_live_streams_stop_counting_and_a_restart_starts_clean(tmp_path: Path) -> None:
    directory = tmp_path / "prom"
    directory.mkdir()  # prometheus_client writes there from its first import on
    env = {**os.environ, metrics.MULTIPROCESS_ENV: str(directory), "PYTHONPATH": str(ROOT)}
    hooks = textwrap.dedent("""
        import runpy, sys, types
        from hall_common import metrics
        conf = runpy.run_path("deploy/observability/gunicorn.py")
        if sys.argv[1] == "start":
            conf["on_starting"](None)
        elif sys.argv[1] == "exit":
            conf["child_exit"](None, types.SimpleNamespace(pid=int(sys.argv[2])))
        else:
            print(metrics.exposition().decode())
    """)

    def run(*args: str) -> str:
        return subprocess.run([sys.executable, "-c", hooks, *args], env=env, check=True, timeout=60, cwd=ROOT,
                              capture_output=True, text=True).stdout

    run("start")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from hall_common import metrics
        metrics.LIVE_STREAMS.set(7)
        metrics.HTTP_REQUESTS.labels("gateway", "GET", "/", "200").inc()
        print("set", flush=True)
        time.sleep(60)
    """)], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "set"
        assert sample(scrape(run("scrape")), "hall_live_streams") == 7
        holder.kill()
        holder.wait(10)
        run("exit", str(holder.pid))
        after = scrape(run("scrape"))
        assert not sample(after, "hall_live_streams")  # its streams are gone with it
        # Counters survive their worker: a request answered is still answered.
        assert sample(after, "hall_http_requests_total", process="gateway", method="GET", route="/", status="200") == 1
        run("start")  # a new master: nothing of the last run
        assert sample(scrape(run("scrape")), "hall_http_requests_total", process="gateway", method="GET",
                      route="/", status="200") is None
    finally:
        holder.kill()
        holder.wait(10)
