"""(2) The employer home page through the gateway at 50 connections, with wrk on loopback for a bounded
time, against a one-query Flask app served as the gateway serves its pages (the same gunicorn worker).

Two runs of ours: at saturation (each connection sends its next request as soon as the answer came:
the rate, compared with the baseline's) and paced (the same 50 connections offering a quarter of the
baseline's measured rate, the goal's rate: the latency a page sees when the gateway keeps up). A closed
loop at saturation has p99 near connections/rate (Little's law): 50 connections at 700 req/s wait
about 70 ms for their turn whatever the page costs, so p99 < 100 ms is a figure of the paced run."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from deploy.stack import BIN, ROOT, Stack, free_port

from .harness import Peaks, Result, cpu_by_process, run_setup, stack_peaks

CONNECTIONS = 50
SECONDS = 15
PACED_SHARE = 0.25  # the goal's share of the baseline's rate
PACED_SCRIPT = ROOT / "bench" / "paced.lua"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> dict[str, float]:
    found = {f"p{q}_ms": _ms(v) for q, v in re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M)}
    timeouts = re.search(r"timeout (\d+)", output)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50_ms": found.get("p50_ms", float("nan")), "p99_ms": found.get("p99_ms", float("nan")),
        "timeouts": int(timeouts.group(1)) if timeouts else 0, "non_2xx": int(errors.group(1)) if errors else 0,
    }


def wrk(url: str, headers: dict[str, str] | None = None, rate: float | None = None) -> dict[str, float]:
    """At saturation, or with ``rate`` (requests/s over all connections) offered by paced connections."""
    argv = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "5s", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    tail = [url]
    if rate is not None:  # each connection waits about CONNECTIONS/rate between its requests
        tail = ["-s", str(PACED_SCRIPT), url, "--", str(round(1000 * CONNECTIONS / rate, 1))]
    done = subprocess.run([*argv, *tail], check=True, capture_output=True, text=True, timeout=SECONDS + 30)
    return {k: round(v, 2) for k, v in parse_wrk(done.stdout).items()}


def _baseline(env: dict[str, str]) -> tuple[dict[str, float], float]:
    with tempfile.TemporaryDirectory(prefix="bench-one-query-") as directory:
        port = free_port()
        env = {**env, "BENCH_ONE_QUERY_DB": str(Path(directory) / "one.db")}
        subprocess.run([str(BIN / "python"), "-m", "bench.one_query"], cwd=ROOT, env=env, check=True)
        # The gateway's worker (deploy/stack.py start_service): uvicorn, the app in a2wsgi's four threads.
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "-k", "gateway.asgi.Worker", "-w", "1", "--no-control-socket",
             "-b", f"127.0.0.1:{port}", "bench.one_query:asgi_app"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}/"
            for _ in range(100):
                try:
                    if httpx.get(url, timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            with Peaks([server.pid]).measure() as memory:
                figures = wrk(url)
            return figures, memory["peak_mb"]
        finally:
            server.terminate()
            server.wait(10)


def run(stack: Stack) -> list[Result]:
    name = f"employer home page via gateway, {CONNECTIONS} connections"
    if shutil.which("wrk") is None:
        return [Result(name=name, status="wrk missing: run deploy/sysdeps.sh bench")]
    creds: dict[str, Any] = run_setup(stack, "employers", "1")
    url = stack.url("gateway") + "/"
    headers = {"Cookie": creds["gateway_cookie"]}
    page = httpx.get(url, headers=headers, timeout=30)
    assert page.status_code == 200 and "太原市示例科技有限公司" in page.text, (page.status_code, page.text[:300])
    baseline, baseline_peak = _baseline(stack.env())  # first: the paced run offers a share of its rate
    with stack_peaks(stack).measure() as memory, cpu_by_process(stack) as cpu:
        ours = wrk(url, headers)
    offered = round(PACED_SHARE * baseline["requests_per_s"], 1)
    paced = wrk(url, headers, rate=offered)
    ratio = ours["requests_per_s"] / baseline["requests_per_s"]
    return [Result(
        name=name, unit="req/s", ours=ours["requests_per_s"], baseline=baseline["requests_per_s"],
        baseline_name="one-query Flask app, the gateway's gunicorn worker and page bridge (4 threads)",
        ratio=round(ratio, 4),
        goal=">= 0.25 of the baseline's rate at saturation; p99 < 100 ms offered 0.25 of it (paced)",
        met=ratio >= 0.25 and paced["p99_ms"] < 100 and ours["non_2xx"] == 0 and paced["non_2xx"] == 0
        and ours["timeouts"] == 0 and paced["timeouts"] == 0,
        peak_mb=memory["peak_mb"], baseline_peak_mb=baseline_peak,
        details={"summary": f"saturation p50 {ours['p50_ms']} ms, p99 {ours['p99_ms']} ms, "
                            f"{ours['timeouts']:.0f} timeouts; paced at {offered} req/s offered: "
                            f"{paced['requests_per_s']} req/s, p50 {paced['p50_ms']} ms, p99 {paced['p99_ms']} ms, "
                            f"{paced['non_2xx']:.0f} non-2xx (baseline p50 {baseline['p50_ms']} ms, "
                            f"p99 {baseline['p99_ms']} ms)",
                 "cpu_ms_per_page": {k: round(v * 1000 / (ours["requests_per_s"] * SECONDS), 2)
                                     for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])},
                 "ours": ours, "paced": {**paced, "offered_per_s": offered}, "baseline": baseline,
                 "seconds": SECONDS, "tool": "wrk -t2 (paced: bench/paced.lua)"},
    )]
