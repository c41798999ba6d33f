"""The employer's 待办 / 已办 / 我发起的 from the workflow's process events: one state per instance,
folded by seq, so any arrival order of the same events (with duplicates) ends in the same state."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall_common import db
from hall_common.consumer import InvalidEvent, consume
from hall_common.events import make_event
from hall_common.settings import reset_settings
from services.notify.models import ProcessTrack

from ..threads import at_once
from .conftest import EMPLOYER_NO, OTHER_EMPLOYER_NO, AnyDb, make_app
from .notify_support import process_events

BASE = f"/employers/{EMPLOYER_NO}"
_ids = itertools.count(1000)


def deliver(app: Flask, events: list[dict[str, Any]]) -> list[str]:
    with app.app_context():
        return [consume(event) for event in events]


def track(app: Flask, instance_id: int) -> dict[str, Any]:
    with app.app_context():
        row = db.session().get(ProcessTrack, instance_id, populate_existing=True)
        assert row is not None
        return {c.key: getattr(row, c.key) for c in ProcessTrack.__table__.columns}


def box(app: Flask, headers: dict[str, str], name: str, **query: Any) -> dict[str, Any]:
    response = app.test_client().get(f"{BASE}/inbox/{name}", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def counts(app: Flask, headers: dict[str, str], **query: Any) -> dict[str, int]:
    body: dict[str, int] = app.test_client().get(f"{BASE}/inbox-counts", query_string=query,
                                                 headers=headers).get_json()
    return body


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One migrated app for the property test's many examples (each uses its own instance id)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HALL_VAR_DIR", str(tmp_path_factory.mktemp("tracks")))
    reset_settings()
    app = make_app("notify")
    mp.undo()
    reset_settings()
    return app


@pytest.fixture
def app() -> Flask:
    return make_app("notify")


def test_a_returned_process_is_in_todo_until_the_employer_resubmits_it(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    events = process_events(7)
    deliver(app, events[:5])
    todo = box(app, employer_headers, "todo")
    assert todo["total"] == 1
    [item] = todo["items"]
    assert (item["id"], item["instance_id"], item["business_type"], item["business_id"]) == (
        7, 7, "employer_change", "7")
    assert (item["status"], item["status_name"], item["can_end"]) == ("returned", "已退回", True)
    assert (item["task_name"], item["handler"], item["opinion"]) == ("经办审核", "中心审核员李明", "邮编与地址不符")
    assert item["content"] == (
        "您提交的单位信息变更业务被退回（经办审核），退回意见：邮编与地址不符。请修改后重新提交或结束流程")
    assert item["created_at"] == "2026-11-28T03:05:00+00:00"
    # The return is announced in 消息 too, worded by the business type's declaration.
    assert counts(app, employer_headers) == {"message": 1, "todo": 1, "done": 0, "initiated": 1, "read": 0}
    [message] = box(app, employer_headers, "message")["items"]
    assert message["content"] == ("尊敬的太原市示例科技有限公司，您提交的单位信息变更业务"
                                  "（业务编号7，变更项：单位地址、邮政编码）被退回，退回意见：邮编与地址不符。请修改后重新提交或结束流程")

    deliver(app, events[5:7])  # resubmitted, a new task created
    assert box(app, employer_headers, "todo")["total"] == 0
    [done] = box(app, employer_headers, "done")["items"]
    assert (done["status"], done["task_name"], done["content"]) == ("running", "经办审核", "审批中：经办审核")
    assert done["acted_at"] == "2026-11-28T03:06:00+00:00"

    deliver(app, events[7:])
    [initiated] = box(app, employer_headers, "initiated")["items"]
    assert (initiated["status"], initiated["outcome"], initiated["content"]) == (
        "completed", "approved", "审批通过，审批意见：同意")
    # The approval itself is announced by the owner's domain event once applied (employer_change
    # declares it), not by the process's end: still the one message of the return.
    assert counts(app, employer_headers) == {"message": 1, "todo": 0, "done": 1, "initiated": 1, "read": 0}


def test_an_older_event_never_overwrites_a_newer_state(app: Flask, employer_headers: dict[str, str]) -> None:
    events = process_events(8)
    deliver(app, [events[-1], events[4], events[0]])  # completed, then the late return and start
    state = track(app, 8)
    assert (state["status"], state["outcome"], state["last_seq"]) == ("completed", "approved", 9)
    assert state["started_at"] is not None and state["returned_at"] is not None
    assert box(app, employer_headers, "todo")["total"] == 0


def test_ending_after_a_return_moves_it_to_done_and_a_termination_does_not(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    deliver(app, process_events(9, end="ended"))
    terminated = process_events(10, end="ended")
    terminated[-1]["data"].update(by="center", reason="重复申请")
    deliver(app, terminated)
    [done] = box(app, employer_headers, "done")["items"]
    assert (done["instance_id"], done["status"], done["content"]) == (9, "ended", "已结束流程：不再办理")
    initiated = box(app, employer_headers, "initiated")["items"]
    assert [(i["instance_id"], i["status_name"]) for i in initiated] == [(10, "已终止"), (9, "已结束")]
    assert initiated[0]["content"] == "中心已终止流程：重复申请"


def test_my_initiated_narrows_to_one_operator_and_lists_page_on_the_server(
    app: Flask, employer_headers: dict[str, str], other_employer_headers: dict[str, str]
) -> None:
    # Two operators of one employer with the same display name: only the login tells them apart.
    for instance_id in range(20, 25):
        login = "wangxy" if instance_id % 2 else "wangxy2"
        deliver(app, process_events(instance_id, initiator="王晓燕", initiator_login=login)[:1])
    # wangxy2's instance 26 is returned: in 待办 for every operator of the employer, any of them handles it.
    deliver(app, process_events(26, initiator="王晓燕", initiator_login="wangxy2")[:5])
    deliver(app, process_events(30, employer_no=OTHER_EMPLOYER_NO, initiator_login="wangxy")[:1])
    page = box(app, employer_headers, "initiated", page=2, per_page=2)
    assert (page["total"], [i["instance_id"] for i in page["items"]]) == (6, [23, 22])
    mine = box(app, employer_headers, "initiated", initiator="wangxy")
    assert [i["instance_id"] for i in mine["items"]] == [23, 21]
    assert mine["total"] == 2 and mine["counts"]["initiated"] == 2 and mine["counts"]["todo"] == 1
    assert all(i["initiator_login"] == "wangxy" for i in mine["items"])
    assert counts(app, employer_headers, initiator="wangxy2") == dict(counts(app, employer_headers), initiated=4)
    assert box(app, employer_headers, "todo", initiator="wangxy")["total"] == 1
    # The display name is no filter: it matches nobody's login.
    assert box(app, employer_headers, "initiated", initiator="王晓燕")["total"] == 0
    too_many = app.test_client().get(f"{BASE}/inbox/initiated", query_string={"per_page": 201},
                                     headers=employer_headers)
    assert too_many.status_code == 422
    # Another employer neither reads these boxes nor sees this employer's processes in its own.
    assert app.test_client().get(f"{BASE}/inbox/initiated", headers=other_employer_headers).status_code == 403
    other = app.test_client().get(f"/employers/{OTHER_EMPLOYER_NO}/inbox/initiated",
                                  headers=other_employer_headers).get_json()
    assert [i["instance_id"] for i in other["items"]] == [30]


def test_an_event_without_a_valid_instance_or_seq_is_refused(app: Flask) -> None:
    for bad in ({"seq": None}, {"seq": 2**31}, {"instance_id": True}, {"instance_id": "40"}):
        event = process_events(40)[0]
        event["data"].update(bad)
        with app.app_context(), pytest.raises(InvalidEvent):
            consume(event)


@pytest.fixture
def any_db_app(any_db: AnyDb) -> Flask:
    """The notify app on SQLite, then on a throwaway PostgreSQL database (where the row lock matters:
    PostgreSQL runs the nine transactions truly at once)."""
    return any_db.app("notify")


def test_events_of_one_instance_handled_at_once_on_nine_threads_fold_completely(any_db_app: Flask) -> None:
    app = any_db_app
    events = process_events(50)

    def run(event: dict[str, Any]) -> str:
        for _ in range(20):  # SQLite may report a busy snapshot: the consumer's retry would redeliver
            try:
                return consume(event)
            except Exception:  # noqa: BLE001
                db.session().rollback()
        return "failed"

    results = at_once([lambda e=e: run(e) for e in events], app)
    assert results == ["processed"] * len(events)
    assert track(app, 50) == expected_state(app, 50)
    assert_maintained_counts_match(app)


def assert_maintained_counts_match(app: Flask) -> None:
    """The tabs' maintained counts of 待办, 已办 and 我发起的 equal a COUNT(*) by the boxes' rules."""
    from sqlalchemy import func, select

    from services.notify import services, tracks
    from services.notify.models import ProcessTrack

    with app.app_context():
        session = db.session()
        for employer_no in set(session.scalars(select(ProcessTrack.employer_no))):
            maintained = services.counts(employer_no)
            for box in ("todo", "done", "initiated"):
                counted = session.scalar(select(func.count()).select_from(ProcessTrack).where(
                    ProcessTrack.employer_no == employer_no, *tracks._in_box(box)))
                assert maintained[box] == counted, (employer_no, box)


def expected_state(app: Flask, instance_id: int, end: str = "completed") -> dict[str, Any]:
    """The state of a twin instance whose events arrived once each, in the order the workflow emitted them."""
    twin = next(_ids)
    deliver(app, process_events(twin, end=end))
    return dict(track(app, twin), instance_id=instance_id, business_id=str(instance_id))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), end=st.sampled_from(["completed", "ended"]))
def test_every_arrival_order_with_duplicates_ends_in_the_same_state(
    shared_app: Flask, data: st.DataObject, end: str
) -> None:
    instance_id = next(_ids)
    events = process_events(instance_id, end=end)
    # Duplicates: the same event delivered again, and the same seq re-sent under a new event id.
    again = data.draw(st.lists(st.sampled_from(events), max_size=4), label="redelivered")
    resent = [make_event("workflow", e["type"], e["data"])
              for e in data.draw(st.lists(st.sampled_from(events), max_size=3), label="re-sent")]
    order = data.draw(st.permutations(events + again + resent), label="arrival order")
    deliver(shared_app, order)
    assert track(shared_app, instance_id) == expected_state(shared_app, instance_id, end)
    assert_maintained_counts_match(shared_app)
