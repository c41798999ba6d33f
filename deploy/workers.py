"""``python -m deploy.workers N celery-args...``: N Celery workers with the solo pool, run as one unit.

Why not one prefork worker of N: the prefork parent receives every message from Redis and passes it to
a child over a pipe and back, which cost a fifth of the event workers' CPU per message (py-spy under
make bench's approval load; raw Celery runs one-way tasks 1.6 times as fast on two solo workers as on a
prefork pool of two). A solo worker runs the task in the process that received it.

What prefork gave and how this keeps it: a task that dies with its process is still delivered again
(acks_late: the message stays unacknowledged and Redis restores it after the visibility timeout, as
for a whole worker killed before); when one worker exits on its own the others are stopped and this
process exits with its status, so the supervisor (deploy/stack.py, or systemd ``Restart=always``)
starts the unit again. The unit is stopped through its process group (deploy/stack.py's ``killpg``,
systemd's default ``KillMode=control-group``, Ctrl-C in a terminal): every worker receives the SIGTERM
itself and finishes its task (warm shutdown); passing it on as well would make it a second signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import FrameType

from hall_common.settings import SERVICES


def worker_argv(index: int, node: str, log_level: str) -> list[str]:
    name = node.replace("@", f"-{index}@", 1) if "@" in node else f"{node}-{index}"
    return [sys.executable, "-m", "celery", "-A", "services.worker", "worker", "-P", "solo", "-Q", ",".join(SERVICES),
            "-n", name, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", log_level]


def worker_env(index: int) -> dict[str, str]:
    """Worker ``index`` (from 0) serves its metrics on the index-th port of HALL_METRICS_PORTS, if given."""
    env = dict(os.environ)
    ports = [p for p in env.pop("HALL_METRICS_PORTS", "").split(",") if p.strip()]
    if index < len(ports):
        env["HALL_METRICS_PORT"] = ports[index].strip()
    return env


def main(argv: list[str]) -> int:
    count, node = int(argv[0]), argv[1]
    log_level = argv[2] if len(argv) > 2 else "INFO"
    workers = [subprocess.Popen(worker_argv(i + 1, node, log_level), env=worker_env(i)) for i in range(count)]
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(worker.poll() is None for worker in workers):
        time.sleep(0.2)
    status = next(worker.returncode for worker in workers if worker.poll() is not None)
    if not stopping:  # one exited on its own: stop the rest, so the supervisor restarts the unit
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
    return status if status else (0 if stopping else 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
