"""The heavy worker's Celery app as the hall configures it (get_heavy_celery: late acknowledgement,
prefetch 1, its own unacknowledged-message keys) with one slow job, for tests/unit/test_warm_shutdown.py."""

from __future__ import annotations

import time
from pathlib import Path

from hall_common.celery_app import get_heavy_celery

app = get_heavy_celery()


@app.task(name="test.slow_job", acks_late=True, ignore_result=True)
def slow_job(marker: str, seconds: float) -> None:
    Path(marker + ".started").touch()
    time.sleep(seconds)
    Path(marker).write_text("done")
