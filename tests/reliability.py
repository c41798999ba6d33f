"""docs/reliability.md, written by the tests themselves so it cannot drift from them.

A reliability test (chaos, races, sweeps, fuzz, hostile files, worker kills) takes the ``reliability_report``
fixture and states its figures as it measures them: businesses run, faults injected, lost, duplicated,
leaks, server errors, recovery time, peak memory. At the end of the pytest run the figures of the tests
that ran are merged into ``docs/reliability.json`` (one entry per test and database: the last run of
each) and ``docs/reliability.md`` is rendered from it: each test, what it does (its docstring's first
paragraph), its outcome and its last figures. A unit test checks that the tests listed are exactly the
tests that take the fixture, so a test added, renamed or removed shows in the report at once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "docs" / "reliability.json"
MD_PATH = ROOT / "docs" / "reliability.md"
# The figures in the order the table shows them, with their headings; a test states those it measures.
COLUMNS = {
    "businesses": "businesses", "events": "events", "requests": "requests", "faults": "faults injected", "lost": "lost",
    "duplicated": "duplicated", "leaks": "leaks", "server_errors": "5xx", "schema_violations": "schema violations",
    "recovery_seconds": "recovery (s)", "peak_mb": "peak memory (MB)",
}
MUST_BE_ZERO = ("lost", "duplicated", "leaks", "server_errors", "schema_violations")


def database() -> str:
    return "PostgreSQL" if os.environ.get("HALL_TEST_POSTGRES") else "SQLite"


@dataclass
class Entry:
    test: str  # module path :: function
    summary: str
    database: str
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    outcome: str = "not finished"
    at: str = ""

    def key(self) -> str:
        return f"{self.test} [{self.database}]"


class Recorder:
    """What one test states (the ``reliability`` fixture)."""

    def __init__(self, entry: Entry) -> None:
        self.entry = entry

    def figures(self, **values: Any) -> None:
        unknown = set(values) - set(COLUMNS)
        if unknown:
            raise ValueError(f"not a reliability figure: {sorted(unknown)} (tests/reliability.py COLUMNS)")
        self.entry.figures.update(values)

    def add(self, name: str, amount: int = 1) -> None:
        self.figures(**{name: int(self.entry.figures.get(name, 0)) + amount})

    def note(self, text: str) -> None:
        """A measured detail the columns do not hold (e.g. the recovery after each fault)."""
        self.entry.notes.append(text)


def summary_of(function: Any) -> str:
    doc = (getattr(function, "__doc__", None) or "").strip()
    return " ".join(doc.split("\n\n")[0].split()) if doc else "(no docstring)"


def load() -> dict[str, dict[str, Any]]:
    if not JSON_PATH.exists():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(JSON_PATH.read_text(encoding="utf-8"))
    return data


def merge(entries: list[Entry]) -> None:
    """Keep the last figures of every test and database; rewrite the JSON and the Markdown."""
    stored = load()
    for entry in entries:
        stored[entry.key()] = {"test": entry.test, "summary": entry.summary, "database": entry.database,
                               "figures": entry.figures, "notes": entry.notes, "outcome": entry.outcome,
                               "at": entry.at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    stored = dict(sorted(stored.items()))
    JSON_PATH.write_text(json.dumps(stored, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    MD_PATH.write_text(render(stored), encoding="utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def render(stored: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# Reliability report",
        "",
        "Written by the tests themselves (tests/reliability.py): each reliability test states its figures as",
        "it measures them, and every pytest run rewrites this page with the last figures of the tests it ran",
        "(`docs/reliability.json` keeps them per test and database). Do not edit by hand. A figure that must",
        f"be zero ({', '.join(MUST_BE_ZERO)}) is asserted zero by its test, so a non-zero one here is a failed run.",
        "",
        "| test | database | outcome | " + " | ".join(COLUMNS.values()) + " | run at |",
        "|---|---|---|" + "---|" * len(COLUMNS) + "---|",
    ]
    for item in stored.values():
        name = item["test"].split("::")[-1]
        lines.append(f"| `{name}` | {item['database']} | {item['outcome']} | "
                     + " | ".join(_cell(item["figures"].get(column)) for column in COLUMNS)
                     + f" | {item['at']} |")
    lines += ["", "## What each test does", ""]
    seen: set[str] = set()
    for item in stored.values():
        function = item["test"].split("[")[0]  # a parametrized test is described once
        if function in seen:
            continue
        seen.add(function)
        lines.append(f"- `{function}`: {item['summary']}")
        for other in stored.values():
            if other["test"].split("[")[0] == function and other["notes"]:
                name = other["test"][len(function):]
                lines.append(f"  - {other['database']}{' ' + name if name else ''}: " + "; ".join(other["notes"]))
    return "\n".join(lines) + "\n"
