"""deploy/workers.py: the Celery workers run as one supervised unit; when one exits on its own the
others are stopped and the unit exits with its status, so the supervisor starts all of them again."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from deploy import workers


def test_one_worker_exiting_stops_the_others_and_the_unit_reports_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pid_file = tmp_path / "sleeper.pid"
    programs = {
        1: f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)",
        2: f"import os, time\nwhile not os.path.exists({str(pid_file)!r}): time.sleep(0.05)\nraise SystemExit(3)",
    }
    monkeypatch.setattr(workers, "worker_argv", lambda index, node, level: [sys.executable, "-c", programs[index]])
    assert workers.main(["2", "hall@host"]) == 3
    with pytest.raises(ProcessLookupError):  # the sleeping worker was stopped (and reaped), not left behind
        os.kill(int(pid_file.read_text()), 0)


def test_workers_are_named_apart_and_take_every_service_queue() -> None:
    first, second = workers.worker_argv(1, "hall-6391@%h", "INFO"), workers.worker_argv(2, "hall-6391@%h", "INFO")
    assert first[first.index("-n") + 1] == "hall-6391-1@%h" and second[second.index("-n") + 1] == "hall-6391-2@%h"
    assert first[first.index("-P") + 1] == "solo"
    assert set(first[first.index("-Q") + 1].split(",")) == {"auth", "employer", "member", "payment", "workflow",
                                                            "notify"}
