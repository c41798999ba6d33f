"""deploy/observability: the alert rules fire when they should (promtool's own rule tests), the scrape
configuration and every dashboard query are valid PromQL, and they name only metrics the hall exports,
while every metric it exports is on the dashboard."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hall_common import metrics

from .conftest import make_app

HERE = Path(__file__).resolve().parents[2] / "deploy" / "observability"
DASHBOARD = HERE / "grafana-dashboard.json"
# Prometheus' own series, which no hall process exports.
PROMETHEUS_OWN = {"up"}
PROMQL_FUNCTIONS = {"sum", "max", "min", "rate", "histogram_quantile", "topk", "by", "and", "or", "le"}


def promtool(*args: str, cwd: Path = HERE) -> str:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: `deploy/sysdeps.sh observe` installs Debian's prometheus package"
    done = subprocess.run([tool, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text(encoding="utf-8")))


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def alert_queries() -> list[str]:
    rules = yaml.safe_load((HERE / "alerts.yml").read_text(encoding="utf-8"))
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def metric_names(query: str) -> set[str]:
    """The series a query reads: identifiers that are neither functions nor label names nor strings."""
    without_strings = re.sub(r'"[^"]*"', "", query)
    without_labels = re.sub(r"\{[^}]*\}", "", without_strings)
    without_grouping = re.sub(r"\bby\s*\([^)]*\)", "", without_labels)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_grouping)
    return {name for name in re.findall(r"\b[a-z_][a-z0-9_]*\b", without_ranges) if name not in PROMQL_FUNCTIONS}


def exported() -> set[str]:
    """Every series name the hall's processes export: a service's scrape (its outbox and dead letters),
    the kept metrics, and a worker's queue lengths."""
    class Lengths:
        def llen(self, _queue: str) -> int:
            return 0

    text = make_app("notify", seed=False).test_client().get("/metrics").get_data(as_text=True)
    queues = metrics.QueueCollector(["notify"])
    original = metrics._queue_client
    metrics._queue_client = lambda: contextlib.nullcontext(Lengths())  # type: ignore[assignment]
    try:
        text += metrics.exposition([queues]).decode()
    finally:
        metrics._queue_client = original  # type: ignore[assignment]
    names: set[str] = set()
    for kind_line in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE):
        name, kind = kind_line
        names.add(name)
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
    return names



def test_the_alert_rules_fire_when_they_should_and_only_then() -> None:
    assert "SUCCESS" in promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in promtool("test", "rules", "alerts_test.yml")
    tested = {case["alertname"] for test in yaml.safe_load((HERE / "alerts_test.yml").read_text())["tests"]
              for case in test["alert_rule_test"]}
    rules = yaml.safe_load((HERE / "alerts.yml").read_text(encoding="utf-8"))
    defined = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert tested == defined  # every alert has its firing case
    assert {"HallOutboxStuck", "HallDeadLetters", "HallHighErrorRate"} <= defined


def test_the_scrape_configuration_is_valid_and_covers_every_process() -> None:
    promtool("check", "config", "prometheus.yml")
    config = yaml.safe_load((HERE / "prometheus.yml").read_text(encoding="utf-8"))
    hosts = {target.split(":")[0] for job in config["scrape_configs"] for static in job["static_configs"]
             for target in static["targets"]}
    assert hosts == {"gateway", "auth", "employer", "member", "payment", "workflow", "notify",
                     "worker", "heavy", "beat"}


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool checks PromQL inside rules: each panel's query becomes a recording rule (Grafana's
    ``$__rate_interval`` read as the 5m it usually is)."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"hall:panel_{i}", "expr": expr.replace("$__rate_interval", "5m")}
        for i, expr in enumerate(dashboard_queries())]}]}
    (tmp_path / "panels.yml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    promtool("check", "rules", "panels.yml", cwd=tmp_path)


def test_the_dashboard_is_a_well_formed_grafana_dashboard() -> None:
    board = dashboard()
    assert board["uid"] and board["title"] and isinstance(board["schemaVersion"], int)
    assert [v["name"] for v in board["templating"]["list"]] == ["datasource"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        assert panel["title"] and panel["targets"]
        assert panel["datasource"]["uid"] == "${datasource}"
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not cells & mine, f"panel {panel['title']} overlaps another"
        cells |= mine


@pytest.mark.parametrize("where", ["dashboard", "alerts"])
def test_the_queries_name_only_metrics_the_hall_exports(where: str) -> None:
    queries = dashboard_queries() if where == "dashboard" else alert_queries()
    used = set().union(*(metric_names(q) for q in queries))
    assert used - exported() - PROMETHEUS_OWN == set()


def test_every_metric_the_hall_exports_is_on_the_dashboard() -> None:
    used = set().union(*(metric_names(q) for q in dashboard_queries()))
    ours = {name for name in exported() if name.startswith("hall_")}
    shown = {name for name in ours if name in used or f"{name}_bucket" in used}
    assert ours - shown - {n for n in ours if n.endswith(("_count", "_sum"))} == set()
