"""What every benchmark shares: the result row, percentiles, peak memory of process trees, the stack."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deploy.stack import ROOT, Stack, free_port
from hall_common.settings import DEFAULT_PORTS

NOT_BUILT = "not built"


@dataclass
class Result:
    """One line of the table. ``ours`` and ``baseline`` are in ``unit``; the ratio is ours/baseline for a
    rate and baseline/ours for a time, so above 1 is always better than the raw library."""

    name: str
    unit: str = ""
    ours: float | None = None
    baseline: float | None = None
    baseline_name: str = "none"
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    peak_mb: float | None = None
    baseline_peak_mb: float | None = None
    sizes: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    status: str = "measured"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def not_built(name: str, goal: str, baseline_name: str = "none") -> Result:
    return Result(name=name, goal=goal, baseline_name=baseline_name, status=NOT_BUILT)


def percentile(values: Iterable[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


# -- memory: the peak resident set (VmHWM) of every process of a tree, read from /proc -------------------

def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _session_of(pid: int) -> int | None:
    stat = _stat(pid)
    return int(stat[3]) if stat else None


def cpu_seconds(leader: int) -> float:
    """User and system CPU of every live process in the leader's session (fields 14 and 15 of stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in session_pids([leader]):
        stat = _stat(pid)
        if stat:
            total += int(stat[11]) + int(stat[12])
    return total / ticks


def session_pids(leaders: Iterable[int]) -> list[int]:
    """Every live process in the sessions these leaders started (gunicorn workers, Celery pool children)."""
    wanted = set(leaders)
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _session_of(int(p)) in wanted]


def _status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_peaks(pids: Iterable[int]) -> None:
    """Start the peak count again from the current size (Linux: 5 > /proc/PID/clear_refs)."""
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/clear_refs", "w") as handle:
            handle.write("5")


def peak_mb(pids: Iterable[int]) -> float:
    """The sum of the processes' peaks: an upper bound of the tree's peak, what the machine must hold."""
    return round(sum(_status_kb(pid, "VmHWM") for pid in pids) / 1024, 1)


class Peaks:
    """The peak memory of a set of process sessions over a block of work."""

    def __init__(self, leaders: Iterable[int]) -> None:
        self.leaders = list(leaders)

    @contextlib.contextmanager
    def measure(self) -> Iterator[dict[str, float]]:
        reset_peaks(session_pids(self.leaders))
        box: dict[str, float] = {}
        try:
            yield box
        finally:
            box["peak_mb"] = peak_mb(session_pids(self.leaders))


def stack_peaks(stack: Stack) -> Peaks:
    return Peaks(p.pid for p in stack.processes.values())


@contextlib.contextmanager
def cpu_by_process(stack: Stack) -> Iterator[dict[str, float]]:
    """CPU seconds each stack process (with its children) spent over a block: where the time goes."""
    leaders = {name: p.pid for name, p in stack.processes.items()}
    before = {name: cpu_seconds(pid) for name, pid in leaders.items()}
    box: dict[str, float] = {}
    try:
        yield box
    finally:
        for name, pid in leaders.items():
            spent = cpu_seconds(pid) - before[name]
            if spent > 0.05:
                box[name] = round(spent, 2)


# -- the system under test ------------------------------------------------------------------------------

# The product's defaults otherwise (relay every 1 s behind the inline relay, as make run).
BENCH_ENV = {
    # The load runs use tokens made once; a 5-minute token would expire during a long run.
    "HALL_ACCESS_TOKEN_SECONDS": "3600",
}


def start_stack(var_dir: Path) -> Stack:
    stack = Stack(var_dir, ports={name: free_port() for name in DEFAULT_PORTS}, redis_port=free_port(),
                  agent_port=free_port(), extra_env=BENCH_ENV)
    stack.start()
    return stack


def run_setup(stack: Stack, *args: str) -> Any:
    """A bench.setup command under the stack's environment (its databases, keys and settings)."""
    done = subprocess.run([sys.executable, "-m", "bench.setup", *args], cwd=ROOT, env=stack.env(),
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_json(argv: list[str], env: dict[str, str] | None = None) -> Any:
    """A baseline in its own process (so its memory is its own); it prints one JSON line."""
    done = subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def self_peak_mb() -> float:
    """This process's own peak resident set (for baselines run in a child process)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
