"""Issue 19 point 5 on a real worker: the heavy worker, started as the image starts it
(deploy/container.py's ``heavy`` command, the app swapped for one with a slow job), stops on SIGTERM
only after finishing the job it runs (Celery's warm shutdown), and the job queued behind it stays in
Redis for the next worker (prefetch 1 with late acknowledgement: nothing was taken that is then lost)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from celery import Celery
from redis import Redis

from deploy.container import server_command
from deploy.stack import BIN, ROOT
from hall_common.celery_app import HEAVY_QUEUE

from .homecache_support import RedisServer, redis_server, wait_until

__all__ = ["redis_server"]  # the fixture used below
JOB_SECONDS = 3.0


def start_heavy_worker(log: Path) -> subprocess.Popen[bytes]:
    argv, env = server_command(["heavy"])
    argv[argv.index("services.heavy")] = "tests.unit.shutdown_app"
    with log.open("ab") as out:
        return subprocess.Popen([str(BIN / argv[0]), *argv[1:]], cwd=ROOT, env={**os.environ, **env},
                                stdout=out, stderr=subprocess.STDOUT)


def test_sigterm_lets_the_running_job_finish_and_leaves_the_next_one_queued(
        redis_server: RedisServer, tmp_path: Path) -> None:
    sender = Celery("sender", broker=redis_server.url)
    running, queued = tmp_path / "running", tmp_path / "queued"
    for marker in (running, queued):
        sender.send_task("test.slow_job", args=[str(marker), JOB_SECONDS], queue=HEAVY_QUEUE)
    log = tmp_path / "heavy.log"
    worker = start_heavy_worker(log)
    try:
        wait_until(lambda: Path(f"{running}.started").exists(), "the heavy worker started the first job", 60)
        worker.send_signal(signal.SIGTERM)  # as compose or Kubernetes stop a container
        assert worker.wait(JOB_SECONDS + 20) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    assert running.read_text() == "done", log.read_text()  # finished, not cut off
    assert not Path(f"{queued}.started").exists()
    client = Redis.from_url(redis_server.url)
    assert client.llen(HEAVY_QUEUE) == 1  # the next job waits in the queue, not in a dead worker's hands

    # A new worker (the restarted pod) runs it.
    worker = start_heavy_worker(log)
    try:
        wait_until(lambda: queued.exists(), "the next worker ran the queued job", 60)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(JOB_SECONDS + 20)
    assert client.llen(HEAVY_QUEUE) == 0
    client.close()
