"""docs/reliability.md stays true to the tests (tests/reliability.py): the tests it lists are exactly
the tests that state reliability figures, and it is the rendering of docs/reliability.json."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests import reliability

TESTS = reliability.ROOT / "tests"


def _reporting_tests() -> set[str]:
    """Every test function that takes the ``reliability_report`` fixture, as module path :: name."""
    found: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and any(
                    arg.arg == "reliability_report" for arg in node.args.args):
                found.add(f"{path.relative_to(reliability.ROOT)}::{node.name}")
    return found


def test_the_report_lists_exactly_the_tests_that_state_figures() -> None:
    listed = {item["test"].split("[")[0] for item in reliability.load().values()}
    reporting = _reporting_tests()
    assert reporting, "no test states reliability figures"
    assert sorted(reporting - listed) == [], "run these tests once so the report lists their figures"
    assert sorted(listed - reporting) == [], "listed, but no longer a test stating figures: run any test to rewrite"


def test_the_markdown_is_the_rendering_of_the_figures() -> None:
    assert reliability.MD_PATH.read_text(encoding="utf-8") == reliability.render(reliability.load())


def test_a_figure_the_report_has_no_column_for_is_refused() -> None:
    entry = reliability.Entry(test="t", summary="", database="SQLite")
    recorder = reliability.Recorder(entry)
    recorder.figures(lost=0)
    recorder.add("faults")
    recorder.add("faults")
    assert entry.figures == {"lost": 0, "faults": 2}
    with pytest.raises(ValueError, match="not a reliability figure"):
        recorder.figures(lots=1)


def test_merging_keeps_the_figures_of_tests_not_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reliability, "JSON_PATH", tmp_path / "r.json")
    monkeypatch.setattr(reliability, "MD_PATH", tmp_path / "r.md")
    first = reliability.Entry(test="tests/a.py::test_a", summary="A.", database="SQLite", figures={"lost": 0},
                              outcome="passed")
    reliability.merge([first])
    second = reliability.Entry(test="tests/b.py::test_b", summary="B.", database="PostgreSQL",
                               figures={"server_errors": 0}, outcome="passed")
    reliability.merge([second])
    assert set(reliability.load()) == {"tests/a.py::test_a [SQLite]", "tests/b.py::test_b [PostgreSQL]"}
    text = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "`test_a` | SQLite | passed" in text and "`test_b` | PostgreSQL | passed" in text
