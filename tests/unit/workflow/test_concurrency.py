"""Exactly once under concurrency, on SQLite and on PostgreSQL (SQLite ignores FOR UPDATE: every
decision here is a conditional update whose row count decides, or the instance's version check).

PostgreSQL runs when a server answers (HALL_TEST_POSTGRES, or the local one); with
HALL_TEST_POSTGRES set, a missing server fails instead of skipping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from hall_common.consumer import consume

from ...threads import at_once
from .conftest import (
    TASK_TAKEN,
    THREADS,
    answer,
    center,
    complete,
    employer,
    event,
    events_of,
    on_each_db,
    post,
    submit,
    tasks,
    the_task,
)

app = on_each_db  # every test here runs on SQLite, then on a throwaway PostgreSQL database


def test_of_concurrent_completions_exactly_one_wins(app: Flask) -> None:
    submit(app)
    task_id = the_task(app)["task"]["id"]
    decisions = ["approve", "reject", "return"] * 4
    results = at_once([lambda d=d: answer(complete(app, task_id, d, "并发")) for d in decisions[:THREADS]], app)
    assert sorted(status for status, _ in results) == [200] + [409] * (THREADS - 1), results
    assert {message for status, message in results if status == 409} == {TASK_TAKEN}
    finals = events_of(app, "business.approved", "business.rejected", "business.returned")
    assert len(finals) == 1 and len(events_of(app, "task.completed")) == 1


def test_two_center_users_completing_one_task_at_once_one_decides(app: Flask) -> None:
    """Two handlers (not admins, not the same login) open the same task and click at the same moment."""
    submit(app)
    task_id = the_task(app)["task"]["id"]
    users = [center(f"handler{i}", f"经办员{i}", groups=("handler",), admin=False) for i in range(2)]
    results = at_once([lambda h=h, d=d: answer(complete(app, task_id, d, "并发", headers=h))
                       for h, d in zip(users, ["approve", "reject"], strict=True)], app)
    assert sorted(status for status, _ in results) == [200, 409], results
    assert {message for status, message in results if status == 409} == {TASK_TAKEN}
    [winner] = [i for i, (status, _) in enumerate(results) if status == 200]
    [final] = events_of(app, "business.approved", "business.rejected", "business.returned")
    assert final["type"] == ("business.approved", "business.rejected")[winner]
    assert final["data"]["approver"] == f"经办员{winner}"
    assert len(events_of(app, "task.completed")) == 1


def test_of_concurrent_claims_exactly_one_wins(app: Flask) -> None:
    submit(app)
    task_id = the_task(app)["task"]["id"]
    users = [center(f"user{i}", f"经办{i}", groups=("handler",), admin=False) for i in range(THREADS)]
    results = at_once([lambda h=h: answer(post(app, f"/tasks/{task_id}/claim", h)) for h in users], app)
    assert sorted(status for status, _ in results) == [200] + [409] * (THREADS - 1), results
    winner = the_task(app)["task"]["assignee_name"]
    assert {message for status, message in results if status == 409} == {f"该任务已被{winner}认领"}
    assert len(events_of(app, "task.claimed")) == 1


def test_concurrent_resubmissions_open_one_task_and_end_races_resubmit(app: Flask) -> None:
    submit(app)
    assert complete(app, the_task(app)["task"]["id"], "return", "请更正").status_code == 200
    resubmissions = [event("business.resubmitted") for _ in range(THREADS)]  # distinct event ids
    results = at_once([lambda e=e: consume(e) for e in resubmissions], app)
    assert results == ["processed"] * THREADS, results
    assert len(tasks(app, center())) == 1 and len(events_of(app, "process.resubmitted")) == 1

    # Returned again; now the employer's 结束流程 and a resubmission race: one of them wins, never both.
    assert complete(app, the_task(app)["task"]["id"], "return", "再更正").status_code == 200
    instance_id = the_task_instance(app)
    work: list[Callable[[], Any]] = [lambda: consume(event("business.resubmitted"))]
    work += [lambda: answer(post(app, f"/instances/{instance_id}/end", employer(), {"reason": "不办了"}))] * 5
    results = at_once(work, app)
    ended = [r for r in results[1:] if r[0] == 200]
    assert len(ended) <= 1 and {r for r in results[1:] if r[0] != 200} <= {(409, "当前流程不允许结束")}, results
    status = app.test_client().get(f"/instances/{instance_id}/path", headers=center()).get_json()["instance"]["status"]
    assert status == ("ended" if ended else "running")
    assert len(tasks(app, center())) == (0 if ended else 1)


def the_task_instance(app: Flask) -> int:
    items = app.test_client().get("/instances", headers=center()).get_json()["items"]
    return int(items[0]["id"])


def test_concurrent_submissions_of_one_business_start_one_process(app: Flask) -> None:
    events = [event("business.submitted", "7") for _ in range(THREADS)]
    results = at_once([lambda e=e: consume(e) for e in events], app)
    assert results == ["processed"] * THREADS, results
    assert [r["instance"]["business_id"] for r in tasks(app, center())] == ["7"]
    assert len(events_of(app, "process.started")) == 1


PARALLEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_parallel"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  targetNamespace="http://hall.example/bpmn">
  <bpmn:process id="employer_change" name="会签" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1"><bpmn:lane id="Lane_1" name="经办">
      <bpmn:flowNodeRef>Task_a</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_b</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_s"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="Fork"><bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing><bpmn:outgoing>F3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="Task_a" name="会签甲"><bpmn:incoming>F2</bpmn:incoming>
      <bpmn:outgoing>F4</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Task_b" name="会签乙"><bpmn:incoming>F3</bpmn:incoming>
      <bpmn:outgoing>F5</bpmn:outgoing></bpmn:userTask>
    <bpmn:parallelGateway id="Join"><bpmn:incoming>F4</bpmn:incoming><bpmn:incoming>F5</bpmn:incoming>
      <bpmn:outgoing>F6</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="EndEvent_e"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="approved" /></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>F6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_s" targetRef="Fork" />
    <bpmn:sequenceFlow id="F2" sourceRef="Fork" targetRef="Task_a" />
    <bpmn:sequenceFlow id="F3" sourceRef="Fork" targetRef="Task_b" />
    <bpmn:sequenceFlow id="F4" sourceRef="Task_a" targetRef="Join" />
    <bpmn:sequenceFlow id="F5" sourceRef="Task_b" targetRef="Join" />
    <bpmn:sequenceFlow id="F6" sourceRef="Join" targetRef="EndEvent_e" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_two_tasks_of_one_instance_completed_at_once_both_count(app: Flask) -> None:
    deployed = post(app, "/definitions/employer_change/deploy", center(), {"bpmn_xml": PARALLEL, "note": "会签"})
    assert deployed.status_code == 201, deployed.get_json()
    submit(app)
    rows = tasks(app, center())
    assert sorted(r["task"]["name"] for r in rows) == ["会签乙", "会签甲"]
    assert {r["task"]["candidate_group"] for r in rows} == {"handler"}  # by the lane's name 经办
    results = at_once([lambda t=r["task"]["id"]: answer(complete(app, t, "approve")) for r in rows], app)
    assert results == [(200, ""), (200, "")], results
    assert tasks(app, center()) == []
    [outcome] = events_of(app, "business.approved", "business.rejected")
    assert outcome["type"] == "business.approved"
    seqs = [e["data"]["seq"] for e in events_of(app)]
    assert sorted(seqs) == list(range(1, len(seqs) + 1))  # no number handed out twice
