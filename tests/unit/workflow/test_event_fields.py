"""The event catalog (hall_common/event_schemas.py, from which docs/events.md is generated) names
exactly the data fields the workflow service emits, type by type, and each event passes its type's
JSON Schema: a run through every path (return, resubmit, reassign, approve, reject, end, terminate) is
compared with the catalog."""

from __future__ import annotations

from typing import Any

from flask import Flask

from hall_common import event_schemas

from .conftest import center, complete, employer, events_of, post, resubmit, submit, the_task


def documented() -> dict[str, set[str]]:
    """type -> the names of the data fields the catalog declares for it."""
    return {type_: {*entry.required, *entry.optional} for type_, entry in event_schemas.CATALOG.items()}


def assert_as_catalogued(event: dict[str, Any]) -> None:
    """The event carries exactly its catalogued fields, and its data passes the type's schema."""
    assert set(event["data"]) == documented()[event["type"]], event["type"]
    assert event_schemas.problems(event) == []


def test_every_emitted_event_carries_exactly_its_documented_fields(app: Flask) -> None:
    submit(app, "1")
    task = the_task(app, "1")["task"]["id"]
    post(app, f"/tasks/{task}/claim", center())
    assert complete(app, task, "return", "请更正").status_code == 200
    resubmit(app, "1")
    task = the_task(app, "1")["task"]["id"]
    assert post(app, f"/tasks/{task}/reassign", center(), {"login_name": "center02"}).status_code == 200
    assert complete(app, task, "approve", headers=center("center02", "复核员")).status_code == 200
    submit(app, "2")
    assert complete(app, the_task(app, "2")["task"]["id"], "reject", "不符").status_code == 200
    submit(app, "3")
    returned = the_task(app, "3")
    assert complete(app, returned["task"]["id"], "return", "补材料").status_code == 200
    ended = post(app, f"/instances/{returned['instance']['id']}/end", employer(), {"reason": "不办了"})
    assert ended.status_code == 200
    submit(app, "4")
    instance = the_task(app, "4")["instance"]["id"]
    assert post(app, f"/instances/{instance}/terminate", center(), {"reason": "重复"}).status_code == 200

    emitted = events_of(app)
    assert {e["type"] for e in emitted} >= {
        "process.started", "task.created", "task.claimed", "task.completed", "process.returned",
        "process.resubmitted", "process.ended", "process.completed", "business.approved", "business.rejected",
        "business.returned", "business.ended"}
    for event in emitted:
        assert_as_catalogued(event)


def test_the_submitting_operators_login_rides_on_every_process_event(app: Flask) -> None:
    """我发起的 is per operator: the login of the submission names the instance's initiator on every
    event, and a resubmission by another operator of the employer does not take the business over."""
    submit(app, "1", initiator_login="wangxy")
    task = the_task(app, "1")
    assert task["instance"]["initiator_login"] == "wangxy"
    assert complete(app, task["task"]["id"], "return", "请更正").status_code == 200
    resubmit(app, "1", initiator_login="lisi")
    assert complete(app, the_task(app, "1")["task"]["id"], "approve").status_code == 200
    process = [e for e in events_of(app) if e["type"].startswith(("process.", "task."))]
    assert {e["type"] for e in process} >= {"process.started", "process.returned", "process.resubmitted",
                                           "process.completed"}
    assert {e["data"]["initiator_login"] for e in process} == {"wangxy"}
