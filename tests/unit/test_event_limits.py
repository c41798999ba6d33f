"""Time limits of event handling in the solo worker, and the count of a message's deliveries that
ends a message killing its worker again and again."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from hall_common import limits


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


class CountingRedis:
    """What delivered() asks of Redis: INCR and EXPIRE in a pipeline."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def pipeline(self, transaction: bool = False) -> Any:
        redis, calls = self, []

        class Pipeline:
            def incr(self, key: str) -> None:
                calls.append(key)

            def expire(self, key: str, seconds: int) -> None:
                assert seconds == limits.DELIVERY_KEEP_SECONDS

            def execute(self) -> list[Any]:
                key = calls[0]
                redis.values[key] = redis.values.get(key, 0) + 1
                return [redis.values[key], True]

        return Pipeline()


def test_each_message_and_each_of_its_retries_counts_its_own_deliveries() -> None:
    redis: Any = CountingRedis()
    assert [limits.delivered("workflow", "m1", 0, redis) for _ in range(3)] == [1, 2, 3]
    assert limits.delivered("workflow", "m1", 1, redis) == 1  # the retry is a new message
    assert limits.delivered("notify", "m1", 0, redis) == 1


def test_counting_never_stops_an_event_when_redis_is_away() -> None:
    class Away:
        def pipeline(self, transaction: bool = False) -> Any:
            raise ConnectionError("down")

    assert limits.delivered("workflow", "m1", 0, Away()) == 1  # type: ignore[arg-type]


class Request:
    def __init__(self, message_id: str, redelivered: bool, retries: int = 0) -> None:
        self.id, self.retries = message_id, retries
        self.delivery_info = {"redelivered": True} if redelivered else {}


def test_the_third_return_of_a_message_is_one_too_many_and_a_first_delivery_costs_no_count(
        monkeypatch: pytest.MonkeyPatch) -> None:
    redis: Any = CountingRedis()
    counted = limits.delivered
    monkeypatch.setattr(limits, "delivered",
                        lambda service, message, retries: counted(service, message, retries, redis))
    assert not limits.undeliverable("workflow", Request("m1", redelivered=False)) and redis.values == {}
    # Killed on its first delivery, then on its first and second return: the third return is buried.
    answers = [limits.undeliverable("workflow", Request("m1", redelivered=True)) for _ in range(3)]
    assert answers == [False, False, True]
    assert not limits.undeliverable("workflow", Request("m1", redelivered=True, retries=1))


def test_a_message_that_killed_its_worker_three_times_is_parked_without_running(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from celery import Celery
    from sqlalchemy import func, select

    from hall_common import db
    from hall_common.events import make_event
    from hall_common.tasks import UNDELIVERABLE, register_service_tasks
    from services.workflow.models import ProcessInstance

    from .conftest import make_app
    from .event_fakes import dead_letters_of

    app = make_app("workflow", seed=False)
    celery = Celery("limits-test")
    register_service_tasks(celery, app)
    monkeypatch.setattr(limits, "undeliverable", lambda service, request: request.id == "message-1")
    submitted = make_event("employer", "business.submitted", {
        "business_type": "employer_change", "business_id": "1", "owner": "employer", "title": "单位信息变更",
        "employer_no": "100100001", "employer_name": "示例", "initiator": "王", "initiator_login": "wangxy",
        "summary": "单位地址", "row_count": 1, "variables": {}, "form": {},
    })
    outcome = celery.tasks["workflow.handle_event"].apply(args=[submitted], task_id="message-1").get()
    assert outcome == "dead"
    (letter,) = dead_letters_of(app)
    assert (letter.event_id, letter.last_error, letter.status) == (submitted["id"], UNDELIVERABLE, "dead")
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(ProcessInstance)) == 0
    # Another message is handled as usual.
    assert celery.tasks["workflow.handle_event"].apply(args=[submitted], task_id="message-2").get() == "processed"
