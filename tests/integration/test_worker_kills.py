"""An event whose handling kills its worker again and again (a hard time limit, an out-of-memory kill)
does not come back for ever, whichever message carries it: on the real worker and Redis, the event's
original message and the copy the outbox relay resends for want of a receipt are taken and their worker
killed three times in all, and the next delivery parks the event as a dead letter without running it.
The events around it (one travelling in the resent copy with it) are processed once and never parked."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from deploy import demo_data as demo
from deploy.stack import BIN, Stack
from hall_common import receipts
from hall_common.tasks import UNDELIVERABLE

from ..reliability import Recorder
from .events_support import held_processed_events, rows, shell
from .helpers import center_api, wait_for

KILLS = 3  # HALL_EVENT_MAX_DELIVERIES' default: deliveries an event may take before it is parked
RECEIVED = re.compile(rb"Task workflow\.handle_event\[([0-9a-f-]+)\] received")


def _start_one_worker(stack: Stack) -> None:
    """The worker unit with one solo worker instead of two: deliveries of the event's copies come one
    after another, so each kill ends exactly one of them (two workers could hold two copies at a kill)."""
    log = stack.log_dir / "worker.log"
    since = log.stat().st_size if log.exists() else 0
    stack.spawn("worker", [str(BIN / "python"), "-m", "deploy.workers", "1", f"hall-{stack.redis_port}@%h", "INFO"],
                env={"HALL_METRICS_PORTS": str(stack.metrics_ports["worker-1"])})
    wait_for(lambda: b"ready." in log.read_bytes()[since:], timeout=60, what="the worker ready")


def _emit(stack: Stack, business_id: str) -> str:
    return shell(stack, "employer", "emit", "business.submitted", json.dumps({
        "business_type": "employer_change", "business_id": business_id, "owner": "employer",
        "title": "单位信息变更", "employer_no": demo.SECOND_EMPLOYER_NO, "employer_name": "演练单位",
        "initiator": "测试", "summary": "反复终止", "variables": {}, "form": {},
    }, ensure_ascii=False))


def _copies(stack: Stack, event_id: str) -> set[str]:
    """The task ids of the messages carrying the event that Redis holds: waiting in the workflow queue,
    or taken and not acknowledged (kombu keeps each task body base64-encoded)."""
    client = Redis(port=stack.redis_port)
    try:
        raw = [*client.lrange("workflow", 0, -1), *(json.loads(v)[0] for v in client.hvals("unacked"))]
    finally:
        client.close()
    found = set()
    for message in (json.loads(m) if isinstance(m, bytes) else m for m in raw):
        if message["headers"].get("task") != "workflow.handle_event":
            continue
        carried = json.loads(base64.b64decode(message["body"]))[0][0]
        if event_id in {e["id"] for e in (carried if isinstance(carried, list) else [carried])}:
            found.add(message["headers"]["id"])
    return found


def _count(stack: Stack, sql: str, **params: Any) -> int:
    return int(rows(stack, "workflow", sql, **params)[0][0])


def _processed(stack: Stack, event_id: str) -> int:
    return _count(stack, "SELECT count(*) FROM processed_events WHERE event_id = :e", e=event_id)


def _instances(stack: Stack, business_id: str) -> int:
    return _count(stack, "SELECT count(*) FROM process_instances WHERE business_id = :b", b=business_id)


def _due(stack: Stack, event_id: str) -> bool:
    """The emitter's receipt check would send the event again now (its row's check time, naive UTC as
    every stored time, passed; SQLite hands it back as text)."""
    (check_at,) = rows(stack, "employer", "SELECT check_at FROM outbox WHERE event_id = :e", e=event_id)[0]
    if isinstance(check_at, str):
        check_at = datetime.fromisoformat(check_at)
    return check_at is not None and check_at < datetime.now(UTC).replace(tzinfo=None)


def test_an_event_that_kills_its_worker_is_parked_after_its_deliveries_whichever_copy_carries_them(
        stack: Stack, reliability_report: Recorder) -> None:
    """A poison event holds its worker until the worker is SIGKILLed, three times, across its original
    message and the relay's resent copy: it never runs, is parked as one visible dead letter on the next
    delivery, and the events before and after it are processed exactly once."""
    center = center_api(stack)
    log = stack.log_dir / "worker.log"
    business = f"kill-{uuid.uuid4().hex[:8]}"
    carrying: set[str] = set()  # task ids of every message that carried the poison event

    def deliveries() -> list[str]:
        """The poison's deliveries so far, in order: the worker's receipt of a message carrying it, known
        from Redis (the message waiting or taken) or from the receipt's line (it names the arguments)."""
        carrying.update(_copies(stack, poison))
        taken = []
        for line in log.read_bytes()[since:].splitlines():
            found = RECEIVED.search(line)
            if found and (found.group(1).decode() in carrying or poison.encode() in line):
                carrying.add(found.group(1).decode())
                taken.append(found.group(1).decode())
        return taken

    stack.stop_process("worker")
    _start_one_worker(stack)
    try:
        # Before it: processed, then its receipt lost, so the relay's receipt check resends it together
        # with the poison (one message): the copy is a duplicate for it, never a strike.
        before = _emit(stack, f"{business}-before")
        wait_for(lambda: _processed(stack, before), what="the event before processed")
        Redis(port=stack.redis_port).delete(receipts.key("workflow", before))
        since = log.stat().st_size
        # The worker takes the event and waits, in the middle of it, for the database: a stand-in for a
        # handler that would run until its hard limit kills the worker.
        with held_processed_events(stack, "workflow"):
            poison = _emit(stack, f"{business}-poison")
            for kill in range(KILLS):
                if kill == KILLS - 1:
                    # The worker down, the relay's receipt check (30 s after publishing here) sends the
                    # poison again as a new message: the last killed delivery is of one copy or the other.
                    wait_for(lambda: _due(stack, poison), timeout=60, what="the poison's receipt check due")
                    shell(stack, "employer", "resend")
                    resent = wait_for(lambda: _copies(stack, poison) - carrying, what="the resent copy queued")
                    carrying.update(resent)
                if kill:
                    _start_one_worker(stack)
                # The first delivery at once; a return after the visibility timeout (15 s here).
                wait_for(lambda n=kill + 1: len(deliveries()) >= n, timeout=90, what=f"delivery {kill + 1}")
                time.sleep(1)
                stack.kill_process("worker")
        _start_one_worker(stack)  # the database free again: the next delivery parks it

        def parked() -> dict[str, Any] | None:
            items = center.get("workflow", "/dead-letters", per_page=200)["items"]
            return next((i for i in items if i["event_id"] == poison), None)

        letter = wait_for(parked, timeout=120, what="the poison parked")
        # Every copy comes back once more and is acknowledged without running (the killed ones' returns).
        wait_for(lambda: not _copies(stack, poison) and len(deliveries()) >= KILLS + len(carrying),
                 timeout=90, what="every copy of the poison acknowledged")
        after = _emit(stack, f"{business}-after")
        wait_for(lambda: _processed(stack, after), what="the event after processed")
        text = log.read_bytes()[since:].decode(errors="replace")
    finally:
        if "worker" in stack.processes:
            stack.stop_process("worker")
        since_restart = log.stat().st_size
        stack.start_worker()
        stack.wait_worker_ready(since_restart)

    around = [_processed(stack, before), _processed(stack, after)]
    reliability_report.figures(events=3, faults=KILLS, lost=around.count(0), duplicated=sum(n > 1 for n in around))
    reliability_report.note(f"the poison parked after {KILLS} killed deliveries over {len(carrying)} messages")
    # The poison never ran to its end, on any delivery of any copy (the resent copy's first delivery
    # used to run it: uncounted, it escaped the count of the original message).
    assert _processed(stack, poison) == 0 and _instances(stack, f"{business}-poison") == 0
    assert letter["last_error"] == UNDELIVERABLE and letter["status"] == "dead"
    assert letter["attempts"] == KILLS
    # Two messages carried the poison: the original and the relay's resent copy (with the event before it).
    assert len(carrying) == 2 and resent <= carrying
    taken = deliveries()
    assert set(taken) == carrying, taken  # each copy was delivered
    # Parked on the delivery after the three killed ones, whichever copy carried them, and only then.
    parks = [line for line in text.splitlines() if poison in line and "parked as a dead letter" in line]
    assert len(parks) == 1, parks
    assert taken[KILLS] in parks[0], (taken, parks)
    # Each later delivery (a killed copy's return) is acknowledged without running it or parking it again.
    skipped = [line for line in text.splitlines() if poison in line and "a dead letter already: not run" in line]
    assert len(skipped) == len(taken) - KILLS - 1 >= 1, (taken, skipped)
    assert all(any(m in line for m in taken[KILLS + 1:]) for line in skipped)
    # The events around it: processed once each, neither parked.
    assert _processed(stack, before) == 1 and _instances(stack, f"{business}-before") == 1
    assert _processed(stack, after) == 1 and _instances(stack, f"{business}-after") == 1
    letters = {i["event_id"] for i in center.get("workflow", "/dead-letters", status="all", per_page=200)["items"]}
    assert before not in letters and after not in letters
