"""Time limits of event handling in the solo worker, and the count of an event's deliveries (per event
and service, across the original message and its resent copies, on a real Redis) that ends an event
killing its worker again and again."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from hall_common import limits, receipts

from .homecache_support import RedisServer, redis_server

__all__ = ["redis_server"]  # the fixture used below


def test_a_handler_past_the_soft_limit_is_stopped_with_a_chinese_message() -> None:
    with pytest.raises(limits.TimeLimitExceeded, match="事件处理超过0.2秒，已中止"), limits.time_limited(0.2, 30):
        while True:
            pass
    with limits.time_limited(5, 30):  # the timers are cleared: a later block is not interrupted
        pass
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0) and signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)


def test_one_long_c_call_no_python_handler_interrupts_is_ended_by_the_hard_limit() -> None:
    program = textwrap.dedent("""
        from hall_common import limits
        with limits.time_limited(soft=60, hard=1):
            x = 3 ** (10 ** 9)  # minutes in one C call, beyond any signal handler
        print("finished")
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGPROF and "finished" not in done.stdout, done


@pytest.fixture
def counting_redis(redis_server: RedisServer) -> Iterator[Any]:
    """A real Redis for the delivery counts (the receipts' client, which the counts share)."""
    from redis import Redis

    receipts.reset_client()
    client = Redis.from_url(redis_server.url)
    try:
        yield client
    finally:
        client.close()
        receipts.reset_client()


def test_deliveries_are_counted_per_event_and_service_whichever_message_carries_them(counting_redis: Any) -> None:
    assert [limits.delivered("workflow", ["e1"]) for _ in range(2)] == [{"e1": 1}, {"e1": 2}]
    # A resent copy (a message of its own), here with another event: each event's own count goes on.
    assert limits.delivered("workflow", ["e1", "e2", "e1"]) == {"e1": 3, "e2": 1}
    assert limits.delivered("notify", ["e1"]) == {"e1": 1}  # each consuming service counts its own
    ttl = counting_redis.ttl(limits.delivery_key("workflow", "e1"))
    # Long enough to span the relay's resends (hourly at most) and the returns of every copy.
    assert limits.DELIVERY_KEEP_SECONDS - 5 <= ttl <= limits.DELIVERY_KEEP_SECONDS >= 24 * 3600
    assert limits.delivered("workflow", []) == {}


def test_counting_never_stops_an_event_when_redis_is_away() -> None:
    receipts.reset_client()  # the unit tests' Redis URL: a port nothing listens on
    assert limits.delivered("workflow", ["e1"]) == {}
    assert limits.worn_out("workflow", Request("m1", redelivered=True), [{"id": "e1"}]) == {}
    limits.forget("workflow", "e1")  # no error either


class Request:
    def __init__(self, message_id: str, redelivered: bool = False, retries: int = 0, resent: bool = False,
                 in_headers: bool = False) -> None:
        self.id, self.retries = message_id, retries
        self.delivery_info = {"redelivered": True} if redelivered else {}
        self.headers = {limits.RESENT: 1} if resent and in_headers else {}
        if resent and not in_headers:
            setattr(self, limits.RESENT, 1)


def test_a_return_and_a_resent_copys_first_delivery_count_an_original_first_delivery_and_a_retry_do_not() -> None:
    assert not limits.counted(Request("m1"))  # no Redis round trip on the path of every event
    assert limits.counted(Request("m1", redelivered=True))
    assert limits.counted(Request("m2", resent=True))  # as a worker puts the header
    assert limits.counted(Request("m2", resent=True, in_headers=True))  # as Task.apply keeps it
    # Celery's retry of a resent copy carries its headers: a new attempt after a handled failure.
    assert not limits.counted(Request("m2", resent=True, retries=1))
    assert limits.counted(Request("m2", resent=True, retries=1, redelivered=True))


def test_a_first_delivery_is_not_counted_and_a_return_is_worn_out_once_the_event_came_the_allowed_times(
        counting_redis: Any) -> None:
    event = {"id": "e1"}
    assert limits.worn_out("workflow", Request("m1"), [event]) == {}
    assert counting_redis.exists(limits.delivery_key("workflow", "e1")) == 0
    # Killed on the first delivery of the original, on its return, and on a resent copy's first delivery:
    # three deliveries, so the next one, whichever copy carries it, is one too many.
    assert limits.worn_out("workflow", Request("m1", redelivered=True), [event]) == {}
    assert limits.worn_out("workflow", Request("m2", resent=True), [event, {"id": "e2"}]) == {}
    assert limits.worn_out("workflow", Request("m1", redelivered=True), [event]) == {"e1": 3}
    assert limits.worn_out("notify", Request("m3", redelivered=True), [event]) == {}
    limits.forget("workflow", "e1")
    assert counting_redis.exists(limits.delivery_key("workflow", "e1")) == 0


class Killed(BaseException):
    """Stands in for the end of the worker's process in the middle of the handler (a hard time limit,
    an out-of-memory kill): nothing after it runs, nothing is acknowledged or committed."""


def test_a_poison_event_is_parked_once_after_its_allowed_deliveries_across_its_original_and_resent_copies(
        counting_redis: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import func, select

    from hall_common import db, tasks
    from hall_common.dead_letters import retry
    from services.workflow.models import ProcessInstance

    from .conftest import make_app
    from .event_fakes import Sent, dead_letters_of

    app = make_app("workflow", seed=False)
    task = _handle_event_of(app)
    poison, before, after = (_submitted(n) for n in ("1", "2", "3"))
    runs: list[str] = []

    def killing(real: Any) -> Any:
        def run(event: dict[str, Any]) -> Any:
            runs.append(event["id"])
            if event["id"] == poison["id"]:
                raise Killed
            return real(event)
        return run

    monkeypatch.setattr(tasks, "consume", killing(tasks.consume))
    monkeypatch.setattr(tasks, "consume_deferred", killing(tasks.consume_deferred))

    def deliver(message: Any, message_id: str, redelivered: bool = False, resent: bool = False) -> Any:
        task.push_request(id=message_id, retries=0, delivery_info={"redelivered": redelivered},
                          **({limits.RESENT: 1} if resent else {}))
        try:
            return task.run(message)
        except Killed:
            return "killed"
        finally:
            task.pop_request()

    assert deliver(before, "m0") == "processed"  # its receipt is lost: the relay resends it with the poison
    assert deliver(poison, "m1") == "killed"  # the original's first delivery: not counted
    assert deliver(poison, "m1", redelivered=True) == "killed"  # 1
    assert deliver([before, poison], "m2", resent=True) == "killed"  # 2: a resent copy's first delivery
    assert runs == [before["id"], poison["id"], poison["id"], before["id"], poison["id"]]
    assert dead_letters_of(app) == []
    # The third return, of the original: parked without running.
    assert deliver(poison, "m1", redelivered=True) == "dead"
    (letter,) = dead_letters_of(app)
    assert (letter.event_id, letter.last_error, letter.status, letter.attempts) == (
        poison["id"], tasks.UNDELIVERABLE, "dead", 3)
    assert runs.count(poison["id"]) == 3
    assert counting_redis.exists(receipts.key("workflow", poison["id"])) == 1  # the relay resends it no more
    # The resent copy comes back twice more: the poison is not run or parked again; the other event, now
    # past the allowance as well, is a duplicate, never a strike (it was processed).
    for _ in range(2):
        assert deliver([before, poison], "m2", redelivered=True) == "duplicate 1, dead 1"
    assert limits.delivered("workflow", [before["id"]]) == {before["id"]: 4}
    assert runs.count(poison["id"]) == 3 and runs.count(before["id"]) == 4
    (letter,) = dead_letters_of(app)
    assert (letter.status, letter.attempts) == ("dead", 3)
    assert deliver(after, "m3") == "processed"
    with app.app_context():
        instances = db.session().scalars(select(ProcessInstance.business_id)).all()
        assert sorted(instances) == ["2", "3"]  # each processed once, the poison never
        assert db.session().scalar(select(func.count()).select_from(ProcessInstance)) == 2
        # The center retries it once its cause is fixed: that delivery gets the whole allowance again.
        sent = Sent(monkeypatch)
        retry(letter.id, "admin")
    assert counting_redis.exists(limits.delivery_key("workflow", poison["id"])) == 0
    assert [e["id"] for _, e, _ in sent.messages] == [poison["id"]]


def _handle_event_of(app: Any) -> Any:
    """The workflow service's event task bound to this test's app. Celery hands every task made with
    ``app.task`` to each app finalized later (shared tasks), the first of a name winning: without the
    pop, a test would run the closure of an app (and database) an earlier test registered."""
    from celery import Celery

    from hall_common.tasks import register_service_tasks

    celery = Celery("limits-test")
    celery.finalize()
    for name in [n for n in celery.tasks if n.startswith("workflow.")]:
        celery.tasks.pop(name)
    register_service_tasks(celery, app)
    return celery.tasks["workflow.handle_event"]


def _submitted(business_id: str) -> dict[str, Any]:
    from hall_common.events import make_event

    return make_event("employer", "business.submitted", {
        "business_type": "employer_change", "business_id": business_id, "owner": "employer", "title": "单位信息变更",
        "employer_no": "100100001", "employer_name": "示例", "initiator": "王", "initiator_login": "wangxy",
        "summary": "单位地址", "row_count": 1, "variables": {}, "form": {},
    })


def test_a_returned_list_goes_one_event_at_a_time_so_the_events_before_the_poison_are_done_not_parked(
        counting_redis: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import select

    from hall_common import db, tasks
    from services.workflow.models import ProcessInstance

    from .conftest import make_app
    from .event_fakes import dead_letters_of

    app = make_app("workflow", seed=False)
    task = _handle_event_of(app)
    first, poison, last = (_submitted(n) for n in ("1", "2", "3"))

    def killing(real: Any) -> Any:
        def run(events: Any) -> Any:
            if poison in (events if isinstance(events, list) else [events]):
                raise Killed  # nothing of the message's transaction is committed
            return real(events)
        return run

    monkeypatch.setattr(tasks, "consume_together", killing(tasks.consume_together))
    monkeypatch.setattr(tasks, "consume_deferred", killing(tasks.consume_deferred))

    def deliver(redelivered: bool) -> Any:
        task.push_request(id="b1", retries=0, delivery_info={"redelivered": redelivered})
        try:
            return task.run([first, poison, last])
        except Killed:
            return "killed"
        finally:
            task.pop_request()

    assert deliver(redelivered=False) == "killed"  # all three in one transaction: none done
    assert [deliver(redelivered=True) for _ in range(2)] == ["killed", "killed"]
    with app.app_context():
        # Back after the kill, one at a time: the event before the poison is done, the one after waits.
        assert db.session().scalars(select(ProcessInstance.business_id)).all() == ["1"]
    # Its fourth delivery parks the poison and the event after it (never done, delivered as often);
    # the event done before it is a duplicate, not parked.
    assert deliver(redelivered=True) == "duplicate 1, dead 2"
    assert sorted(letter.event_id for letter in dead_letters_of(app)) == sorted([poison["id"], last["id"]])
