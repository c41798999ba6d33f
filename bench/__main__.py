"""``make bench`` / ``python -m bench [name ...]``: start a private stack (free ports, a temporary var
directory), run the benchmarks, print the table and write it to var/bench.json. A missed goal is
reported, never a failure; a benchmark that crashes is reported and makes the exit status 1."""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from deploy.stack import ROOT, Stack

from . import adjustments, approval, export, homepage, inbox, interest, journal, live, members
from .harness import NOT_BUILT, Result, not_built, start_stack

BENCHMARKS: dict[str, Callable[[Stack], list[Result]]] = {
    "approval": approval.run, "homepage": homepage.run, "inbox": inbox.run, "live": live.run,
    "export": export.run, "import": members.run_import, "search": members.run_search,
    "adjustments": adjustments.run, "grid": adjustments.run_grid, "journal": journal.run,
    "interest": interest.run,
}
# Hot paths whose features have not landed yet (name, goal, baseline): none at present.
PENDING: list[tuple[str, str, str]] = []
OUTPUT = ROOT / "var" / "bench.json"


def _figure(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.4f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    return f"{text} {unit}".strip()


def _sizes(result: Result) -> str:
    if not result.sizes:
        return str(result.details.get("summary", ""))
    parts = []
    for size, figures in result.sizes.items():
        shown = ", ".join(f"{k} {v}" for k, v in figures.items() if k in ("p50_s", "p99_ms", "cycles_per_s"))
        parts.append(f"{size}: {shown}")
    return "; ".join(parts)


def table(results: list[Result]) -> str:
    lines = ["| benchmark | ours | baseline (same run) | ratio | goal | met | peak MB ours / baseline "
             "| sizes or detail |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r.status != "measured":
            lines.append(f"| {r.name} | {r.status} | {r.baseline_name} | — | {r.goal} | — | — | — |")
            continue
        met = "yes" if r.met else "no"
        baseline = f"{_figure(r.baseline, r.unit)} ({r.baseline_name})" if r.baseline is not None else r.baseline_name
        lines.append(f"| {r.name} | {_figure(r.ours, r.unit)} | {baseline} | {_figure(r.ratio)} | {r.goal} | {met} "
                     f"| {_figure(r.peak_mb)} / {_figure(r.baseline_peak_mb)} | {_sizes(r)} |")
    return "\n".join(lines)


def main(names: list[str]) -> int:
    chosen = names or list(BENCHMARKS)
    results: list[Result] = []
    failed = False
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hall-bench-") as directory:
        stack = start_stack(Path(directory))
        try:
            for name in chosen:
                print(f"bench: {name} ...", flush=True)
                try:
                    results += BENCHMARKS[name](stack)
                except Exception:  # reported in the table and the exit status; the others still run
                    failed = True
                    traceback.print_exc()
                    results.append(Result(name=name, status="error (see the log above)"))
        finally:
            stack.stop()
    results += [not_built(name, goal, baseline) for name, goal, baseline in PENDING]
    print(table(results))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps({
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
        "python": platform.python_version(), "seconds": round(time.monotonic() - started),
        "not_built": NOT_BUILT, "results": [r.as_dict() for r in results],
    }, ensure_ascii=False, indent=2))
    print(f"written to {OUTPUT.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
