"""The production shape's runtime parts on the running system (docs/deploy.md): every process's probes,
the workers' readiness command, and a second beat that stays idle until the first one stops."""

from __future__ import annotations

import subprocess
import sys

import httpx

from deploy.stack import BIN, ROOT, Stack
from hall_common.settings import SERVICES

from .helpers import wait_for

WEB = (*SERVICES, "gateway")


def test_every_process_is_live_and_ready_and_not_ready_while_redis_is_away(stack: Stack) -> None:
    for name in WEB:
        assert httpx.get(stack.url(name) + "/health/live", timeout=10).json()["status"] == "ok", name
        ready = httpx.get(stack.url(name) + "/health/ready", timeout=10)
        assert ready.status_code == 200, f"{name}: {ready.text}"
    checked = subprocess.run([sys.executable, "-m", "deploy.container", "check"], cwd=ROOT, env=stack.env(),
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert all(f"{s}=ok" in checked.stdout for s in SERVICES)
    stack.stop_process("redis")
    try:
        for name in ("payment", "gateway"):
            ready = httpx.get(stack.url(name) + "/health/ready", timeout=10)
            assert ready.status_code == 503 and ready.json()["checks"]["redis"] != "ok", name
            assert httpx.get(stack.url(name) + "/health/live", timeout=10).status_code == 200  # no restart
        down = subprocess.run([sys.executable, "-m", "deploy.container", "check"], cwd=ROOT, env=stack.env(),
                              capture_output=True, text=True, timeout=60)
        assert down.returncode == 1 and "redis=ConnectionError" in down.stdout
    finally:
        stack.start_redis()
    wait_for(lambda: httpx.get(stack.url("payment") + "/health/ready", timeout=10).status_code == 200 or None,
             what="payment ready again")


def test_a_second_beat_sends_nothing_until_the_first_stops(stack: Stack) -> None:
    first_log, second_log = stack.log_dir / "beat.log", stack.log_dir / "beat2.log"
    wait_for(lambda: b"holds hall:beat:lock" in first_log.read_bytes() or None, what="the stack's beat holds the lock")
    stack.spawn("beat2", [str(BIN / "celery"), "-A", "services.worker", "beat", "-l", "INFO",
                          "-s", str(stack.var_dir / "celerybeat2-schedule")])
    try:
        wait_for(lambda: b"idle until it is free" in second_log.read_bytes() or None, timeout=60,
                 what="the second beat waits")
        sent_before = first_log.read_bytes().count(b"Sending due task")
        wait_for(lambda: first_log.read_bytes().count(b"Sending due task") > sent_before + 3 or None,
                 what="the first beat goes on sending")
        assert b"Sending due task" not in second_log.read_bytes()
        stack.stop_process("beat")  # a clean stop releases the lock: the second takes over within its next look
        wait_for(lambda: b"Sending due task" in second_log.read_bytes() or None, timeout=30,
                 what="the second beat sends once the first stopped")
        assert b"holds hall:beat:lock" in second_log.read_bytes()
    finally:
        stack.stop_process("beat2")
        stack.start_beat()
    wait_for(lambda: first_log.read_bytes().count(b"holds hall:beat:lock") >= 2 or None, timeout=60,
             what="the stack's beat holds the lock again")
