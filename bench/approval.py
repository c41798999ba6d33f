"""(1) The approval cycle through the real stack: the employer submits an info change, the center
completes the task, the change is applied and the message arrives in the employer's 消息 box. Latency
p50 and cycles/s with 1, several and many employers in parallel, against raw Celery one-way tasks and
the raw SpiffWorkflow lifecycle; the stored instance size against the raw serialization."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import sqlalchemy as sa

from deploy.stack import BIN, ROOT, WORKER_PROCESSES, Stack

from .harness import Peaks, Result, cpu_by_process, percentile, run_json, run_setup, stack_peaks

PARALLEL = (1, 4, 16)  # employers submitting at once
CYCLES_PER_EMPLOYER = {1: 10, 4: 8, 16: 10}  # enough that the start and the tail of a run weigh little
POLL = 0.05


class TaskBoard:
    """One center poller for every cycle: maps a request to its open task (as one approver's list would)."""

    def __init__(self, client: httpx.Client, url: str, token: str) -> None:
        self.client, self.url, self.headers = client, url, {"Authorization": f"Bearer {token}"}
        self.tasks: dict[str, int] = {}
        self.changed = threading.Condition()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(POLL):
            body = self.client.get(self.url + "/tasks", params={"status": "open", "per_page": 200},
                                   headers=self.headers).json()
            with self.changed:
                for row in body["items"]:
                    self.tasks[row["instance"]["business_id"]] = row["task"]["id"]
                self.changed.notify_all()

    def wait(self, business_id: str, timeout: float = 60) -> int:
        with self.changed:
            if not self.changed.wait_for(lambda: business_id in self.tasks, timeout):
                raise TimeoutError(f"no task for request {business_id}")
            return self.tasks.pop(business_id)


class MessageBoard:
    """One observer for every cycle's message: a read of notify's table every POLL seconds for the
    requests still waiting (16 threads polling the inbox API would be a load of their own)."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(database_url)
        self.waiting: set[str] = set()
        self.arrived: set[str] = set()
        self.changed = threading.Condition()
        self.stop = threading.Event()

    def run(self) -> None:
        query = sa.text("SELECT business_id FROM inbox_items WHERE business_type = 'employer_change'"
                        " AND business_id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
        while not self.stop.wait(POLL):
            with self.changed:
                ids = list(self.waiting)
            if not ids:
                continue
            with self.engine.connect() as connection:
                found = set(connection.execute(query, {"ids": ids}).scalars())
            with self.changed:
                self.arrived |= found
                self.waiting -= found
                self.changed.notify_all()
        self.engine.dispose()

    def wait(self, business_id: str, timeout: float = 60) -> None:
        with self.changed:
            self.waiting.add(business_id)
            if not self.changed.wait_for(lambda: business_id in self.arrived, timeout):
                raise TimeoutError(f"no message for request {business_id}")


def _cycle(client: httpx.Client, stack: Stack, boards: tuple[TaskBoard, MessageBoard], employer_no: str,
           token: str, center: str, n: int) -> float:
    auth = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    submitted = client.post(f"{stack.url('employer')}/employers/{employer_no}/change-requests", headers=auth,
                            json={"changes": [{"field": "contact_name", "value": f"压测经办人{n}"}]})
    assert submitted.status_code == 201, submitted.text
    request_id = str(submitted.json()["request"]["id"])
    task_id = boards[0].wait(request_id)
    done = client.post(f"{stack.url('workflow')}/tasks/{task_id}/complete", json={"decision": "approve"},
                       headers={"Authorization": f"Bearer {center}"})
    assert done.status_code == 200, done.text
    boards[1].wait(request_id)
    return time.perf_counter() - started


def _run(stack: Stack, creds: dict[str, Any], parallel: int) -> dict[str, Any]:
    employers = list(creds["tokens"].items())[:parallel]
    cycles = CYCLES_PER_EMPLOYER[parallel]
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=parallel * 2 + 4)) as client:
        boards = (TaskBoard(client, stack.url("workflow"), creds["center"]), MessageBoard(stack.database_url("notify")))
        pollers = [threading.Thread(target=board.run, daemon=True) for board in boards]
        for poller in pollers:
            poller.start()

        def employer_cycles(item: tuple[str, str]) -> list[float]:
            return [_cycle(client, stack, boards, item[0], item[1], creds["center"], n) for n in range(cycles)]

        started = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            latencies = [t for batch in pool.map(employer_cycles, employers) for t in batch]
        elapsed = time.perf_counter() - started
        for board in boards:
            board.stop.set()
        for poller in pollers:
            poller.join(5)
    return {"cycles": len(latencies), "p50_s": round(percentile(latencies, 50), 3),
            "p99_s": round(percentile(latencies, 99), 3), "cycles_per_s": round(len(latencies) / elapsed, 2)}


def _raw_celery(stack: Stack) -> dict[str, Any]:
    """Raw Celery one-way tasks through workers of the stack's shape: WORKER_PROCESSES solo workers."""
    broker = stack.redis_url.rsplit("/", 1)[0] + "/5"
    env = {**stack.env(), "BENCH_RAW_BROKER": broker}
    workers = [subprocess.Popen(
        [str(BIN / "celery"), "-A", "bench.raw_celery", "worker", "-P", "solo", "-Q", "bench_raw", "-n",
         f"bench-raw-{stack.redis_port}-{i}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-l", "WARNING"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True) for i in range(WORKER_PROCESSES)]
    try:
        peaks = Peaks([worker.pid for worker in workers])
        with peaks.measure() as memory:
            result: dict[str, Any] = run_json([sys.executable, "-m", "bench.raw_celery", "3000"], env)
        result["peak_mb"] = round(result["peak_mb"] + memory["peak_mb"], 1)
        return result
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(10)
            except subprocess.TimeoutExpired:
                worker.kill()


def run(stack: Stack) -> list[Result]:
    creds = run_setup(stack, "employers", str(max(PARALLEL)))
    runs: dict[str, dict[str, Any]] = {}
    with stack_peaks(stack).measure() as memory:
        for parallel in PARALLEL:
            with cpu_by_process(stack) as cpu:
                run_ = _run(stack, creds, parallel)
            # Where the CPU goes (per stack process, children included): the bottleneck on 2 cores.
            run_["cpu_ms_per_cycle"] = {k: round(v * 1000 / run_["cycles"], 1)
                                        for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])}
            runs[f"{parallel} employers"] = run_
    celery = _raw_celery(stack)
    spiff = run_json([sys.executable, "-m", "bench.raw_spiff", "300"])
    sizes = run_setup(stack, "instance-sizes")
    widest, single = runs[f"{max(PARALLEL)} employers"], runs["1 employers"]
    stored_kb = round(sizes["avg_bytes"] / 1024, 2)
    raw_cycle_s = 1 / spiff["per_second"]
    throughput = Result(
        name=f"approval cycles/s, {max(PARALLEL)} employers in parallel", unit="cycles/s",
        ours=widest["cycles_per_s"], baseline=round(celery["per_second"], 1),
        baseline_name=f"raw Celery one-way tasks/s ({WORKER_PROCESSES} solo workers as the stack's, same Redis)",
        ratio=round(widest["cycles_per_s"] / celery["per_second"], 4), goal=">= 50 cycles/s",
        met=widest["cycles_per_s"] >= 50, peak_mb=memory["peak_mb"], baseline_peak_mb=celery["peak_mb"], sizes=runs,
        details={"raw_spiff_lifecycles_per_s": round(spiff["per_second"], 1),
                 "ratio_to_raw_spiff": round(widest["cycles_per_s"] / spiff["per_second"], 4),
                 "poll_interval_s": POLL},
    )
    latency = Result(
        name="approval cycle p50, one employer", unit="s", ours=single["p50_s"], baseline=round(raw_cycle_s, 4),
        baseline_name="raw SpiffWorkflow lifecycle in memory (s each)", ratio=round(raw_cycle_s / single["p50_s"], 4),
        goal="p50 < 1 s", met=single["p50_s"] < 1, peak_mb=memory["peak_mb"], baseline_peak_mb=spiff["peak_mb"],
        sizes={k: {"p50_s": v["p50_s"], "p99_s": v["p99_s"]} for k, v in runs.items()},
    )
    stored = Result(
        name="stored process instance", unit="KB", ours=stored_kb, baseline=round(spiff["state_bytes"] / 1024, 2),
        baseline_name="raw SpiffWorkflow serialization, same completed instance",
        ratio=round(spiff["state_bytes"] / max(sizes["avg_bytes"], 1), 2), goal="<= 3.5 KB", met=stored_kb <= 3.5,
        details={"summary": "ours stores the spec once per definition version, not in every instance",
                 "instances": sizes["completed"], "max_kb": round(sizes["max_bytes"] / 1024, 2)},
    )
    return [latency, throughput, stored]
