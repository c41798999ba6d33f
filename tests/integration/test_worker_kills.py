"""A message whose handling kills its worker again and again (a hard time limit, an out-of-memory
kill) does not come back for ever: on the real worker and Redis, an event is taken and its worker
killed three times, and its third return is parked as a dead letter without running."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest

from deploy import demo_data as demo
from deploy.stack import Stack
from hall_common.tasks import UNDELIVERABLE

from .events_support import held_processed_events, shell
from .helpers import center_api, wait_for

KILLS = 3  # HALL_EVENT_MAX_DELIVERIES' default


def _restart_worker(stack: Stack) -> None:
    log = stack.log_dir / "worker.log"
    since = log.stat().st_size if log.exists() else 0
    stack.start_worker()
    stack.wait_worker_ready(since)


# Known open problem (issue 20 owns it), now understood: deliveries are counted per Celery message
# (hall_common/limits.py), and the relay's receipt check sends an event without a receipt again as a NEW
# message after HALL_EVENT_CONFIRM_AFTER (30 s here, shorter than three kills at a 15 s visibility timeout).
# The new message's count starts again, so an event that kills its worker escapes parking, on SQLite as on
# PostgreSQL, depending only on timing (red in a full SQLite run on 2026-12-03). The fix: count per event id
# across messages, count a resent message's first delivery, and never park an event already processed.
@pytest.mark.skip(reason="KNOWN OPEN (issue 20): a resent copy of the event escapes the per-message delivery "
                         "count, so it is not parked after its third return")
def test_an_event_that_kills_its_worker_each_time_is_parked_after_its_third_return(stack: Stack) -> None:
    center = center_api(stack)
    log = stack.log_dir / "worker.log"
    received = re.compile(rb"Task workflow\.handle_event\[([0-9a-f-]+)\] received")
    since = log.stat().st_size
    message_id = b""
    try:
        # The worker takes the event and waits, in the middle of it, for the database: a stand-in for
        # a handler that would run until its hard limit kills the worker.
        with held_processed_events(stack, "workflow"):
            event_id = shell(stack, "employer", "emit", "business.submitted", json.dumps({
                "business_type": "employer_change", "business_id": f"kill-{uuid.uuid4().hex[:8]}",
                "owner": "employer", "title": "单位信息变更", "employer_no": demo.SECOND_EMPLOYER_NO,
                "employer_name": "演练单位", "initiator": "测试", "summary": "反复终止", "variables": {}, "form": {},
            }, ensure_ascii=False))
            for kill in range(KILLS):
                def taken(count: int = kill + 1) -> bool:
                    nonlocal message_id
                    found = received.findall(log.read_bytes()[since:])
                    message_id = message_id or (found[0] if found else b"")
                    return bool(message_id) and found.count(message_id) >= count

                # The first delivery at once; each return after the visibility timeout (15 s here).
                wait_for(taken, timeout=90, what=f"delivery {kill + 1} of the event")
                time.sleep(1)
                stack.kill_process("worker")
                _restart_worker(stack)
        # The third return: buried without running (the database is free again to store the letter).
        def parked() -> dict[str, object] | None:
            items = center.get("workflow", "/dead-letters", per_page=200)["items"]
            return next((i for i in items if i["event_id"] == event_id), None)

        letter = wait_for(parked, timeout=150, what="the event parked")
        assert letter["last_error"] == UNDELIVERABLE
        assert received.findall(log.read_bytes()[since:]).count(message_id) == KILLS + 1
    finally:
        if "worker" not in stack.processes:
            _restart_worker(stack)
