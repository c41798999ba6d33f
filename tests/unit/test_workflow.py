"""The workflow service: definitions, process start from an event, the center's task, the outcome."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm.exc import StaleDataError

from hall_common import db
from hall_common.consumer import InvalidEvent, consume
from hall_common.events import make_event
from services.workflow import services
from services.workflow.models import ProcessInstance

from .conftest import make_app, outbox_events

PROCESS = Path(services.PROCESS_DIR / "employer_change.bpmn").read_text(encoding="utf-8")


@pytest.fixture
def app() -> Flask:
    return make_app("workflow")


def submitted(business_id: str = "1") -> dict[str, Any]:
    return make_event("employer", "business.submitted", {
        "business_type": "employer_change", "business_id": business_id, "owner": "employer",
        "title": "单位信息变更", "employer_no": "100100001", "employer_name": "太原市示例科技有限公司",
        "initiator": "王晓燕", "summary": "单位地址", "row_count": 1, "variables": {},
    })


def open_tasks(app: Flask, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list(app.test_client().get("/tasks", headers=headers).get_json()["items"])


def test_submission_starts_one_process_with_a_center_task(app: Flask, center_headers: dict[str, str]) -> None:
    event = submitted()
    with app.app_context():
        assert consume(event) == "processed"
        assert consume(event) == "duplicate"
        # Even a new event for the same business does not start a second process.
        consume(submitted())
    [row] = open_tasks(app, center_headers)
    assert row["task"]["name"] == "中心审核"
    assert row["task"]["candidate_group"] == "center_reviewer"
    assert row["instance"]["summary"] == "单位地址"
    assert row["instance"]["row_count"] == 1
    assert "form" not in row["instance"]


@pytest.mark.parametrize("change", [
    {"owner": "nobody"}, {"row_count": "many"}, {"employer_no": None}, {"title": "审批\x00"}, {"business_id": ""},
])
def test_a_malformed_submission_is_refused_at_once_and_starts_nothing(
    app: Flask, center_headers: dict[str, str], change: dict[str, Any]
) -> None:
    event = submitted()
    event["data"].update(change)
    with app.app_context(), pytest.raises(InvalidEvent):  # a dead letter at once, not eight retries
        consume(event)
    assert open_tasks(app, center_headers) == []


def test_approve_emits_the_outcome_to_the_owner(app: Flask, center_headers: dict[str, str]) -> None:
    with app.app_context():
        consume(submitted())
    [row] = open_tasks(app, center_headers)
    client = app.test_client()
    done = client.post(f"/tasks/{row['task']['id']}/complete", json={"decision": "approve", "opinion": "同意"},
                       headers=center_headers)
    assert done.status_code == 200
    assert done.get_json()["instance"]["outcome"] == "approved"
    assert open_tasks(app, center_headers) == []
    [outcome] = [e for e in outbox_events(app) if e["type"].startswith("business.")]
    assert outcome["type"] == "business.approved"
    assert outcome["data"]["owner"] == "employer"
    assert outcome["data"]["approver"] == "中心审核员李明"
    again = client.post(f"/tasks/{row['task']['id']}/complete", json={"decision": "approve"}, headers=center_headers)
    assert again.status_code == 409
    assert again.get_json()["message"] == "该任务已办理，请刷新后查看"
    diagram = client.get(f"/instances/{row['instance']['id']}/diagram", headers=center_headers).get_json()
    assert diagram["completed"] == ["StartEvent_submitted", "Task_center_review", "Gateway_decision",
                                    "EndEvent_approved"]
    assert diagram["current"] == []


def test_reject_needs_an_opinion(app: Flask, center_headers: dict[str, str]) -> None:
    with app.app_context():
        consume(submitted())
    [row] = open_tasks(app, center_headers)
    client = app.test_client()
    url = f"/tasks/{row['task']['id']}/complete"
    empty = client.post(url, json={"decision": "reject", "opinion": ""}, headers=center_headers)
    assert empty.status_code == 422
    assert empty.get_json()["message"] == "审批不通过时请填写审批意见"
    bad = client.post(url, json={"decision": "maybe"}, headers=center_headers)
    assert bad.get_json()["message"] == "审批结果应为通过或不通过"
    done = client.post(url, json={"decision": "reject", "opinion": "材料不全"}, headers=center_headers)
    assert done.get_json()["instance"]["outcome"] == "rejected"
    [outcome] = [e for e in outbox_events(app) if e["type"].startswith("business.")]
    assert outcome["type"] == "business.rejected"
    assert outcome["data"]["opinion"] == "材料不全"


def test_employers_cannot_see_or_complete_center_tasks(
    app: Flask, employer_headers: dict[str, str], other_employer_headers: dict[str, str]
) -> None:
    with app.app_context():
        consume(submitted())
    client = app.test_client()
    assert client.get("/tasks", headers=employer_headers).status_code == 403
    assert client.post("/tasks/1/complete", json={"decision": "approve"}, headers=employer_headers).status_code == 403
    # The employer may see its own process diagram, not another employer's.
    assert client.get("/instances/1/diagram", headers=employer_headers).status_code == 200
    # To another employer it answers as an unknown id does: ids tell nothing about other employers.
    other = client.get("/instances/1/diagram", headers=other_employer_headers)
    unknown = client.get("/instances/999/diagram", headers=other_employer_headers)
    assert (other.status_code, other.get_json()["message"]) == (404, unknown.get_json()["message"])


def test_deploy_versions_and_running_instances_keep_theirs(app: Flask, center_headers: dict[str, str]) -> None:
    with app.app_context():
        consume(submitted("1"))
        first = services.latest_definition("employer_change")
        assert first is not None and first.version == 1
        same = services.deploy("employer_change", PROCESS, "center01")
        assert same.version == 1
        changed = services.deploy("employer_change", PROCESS.replace('name="中心审核"', 'name="中心复核"'), "center01")
        assert changed.version == 2
        consume(submitted("2"))
    names = {row["instance"]["business_id"]: row["task"]["name"] for row in open_tasks(app, center_headers)}
    assert names == {"1": "中心审核", "2": "中心复核"}
    # The old instance still completes on version 1.
    task_id = [r["task"]["id"] for r in open_tasks(app, center_headers) if r["instance"]["business_id"] == "1"][0]
    done = app.test_client().post(f"/tasks/{task_id}/complete", json={"decision": "approve"}, headers=center_headers)
    assert done.get_json()["instance"]["outcome"] == "approved"


def test_an_invalid_definition_is_refused(app: Flask) -> None:
    from services.workflow.engine import DefinitionError

    with app.app_context(), pytest.raises(DefinitionError, match="流程定义无效"):
        services.deploy("employer_change", "<not-bpmn/>", "center01")


def _threads(app: Flask, work: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[index] = work[index]()
            except Exception as exc:  # reported by the assertions
                results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_concurrent_submissions_of_one_business_start_one_process(app: Flask, center_headers: dict[str, str]) -> None:
    events = [submitted("7") for _ in range(10)]  # ten distinct event ids for the same business
    results = _threads(app, [lambda e=e: consume(e) for e in events])
    assert results == ["processed"] * 10, results
    assert [r["instance"]["business_id"] for r in open_tasks(app, center_headers)] == ["7"]


def test_concurrent_completions_on_the_test_client_give_one_winner(app: Flask, center_headers: dict[str, str]) -> None:
    with app.app_context():
        consume(submitted())
    [row] = open_tasks(app, center_headers)
    url = f"/tasks/{row['task']['id']}/complete"

    def complete(decision: str) -> tuple[int, str]:
        response = app.test_client().post(url, json={"decision": decision, "opinion": "并发"}, headers=center_headers)
        return response.status_code, response.get_json()["message" if response.status_code != 200 else "task"]

    results = _threads(app, [lambda d=d: complete(d) for d in ["approve", "reject"] * 5])
    assert sorted(status for status, _ in results) == [200] + [409] * 9, results
    assert {body for status, body in results if status == 409} == {"该任务已办理，请刷新后查看"}
    assert len([e for e in outbox_events(app) if e["type"] in ("business.approved", "business.rejected")]) == 1


PARALLEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_parallel"
                  targetNamespace="http://hall.example/bpmn">
  <bpmn:process id="employer_change" name="会签" isExecutable="true">
    <bpmn:startEvent id="StartEvent_s"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="Fork"><bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing><bpmn:outgoing>F3</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:userTask id="Task_a" name="会签甲"><bpmn:incoming>F2</bpmn:incoming>
      <bpmn:outgoing>F4</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Task_b" name="会签乙"><bpmn:incoming>F3</bpmn:incoming>
      <bpmn:outgoing>F5</bpmn:outgoing></bpmn:userTask>
    <bpmn:parallelGateway id="Join"><bpmn:incoming>F4</bpmn:incoming><bpmn:incoming>F5</bpmn:incoming>
      <bpmn:outgoing>F6</bpmn:outgoing></bpmn:parallelGateway>
    <bpmn:endEvent id="EndEvent_e"><bpmn:incoming>F6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_s" targetRef="Fork" />
    <bpmn:sequenceFlow id="F2" sourceRef="Fork" targetRef="Task_a" />
    <bpmn:sequenceFlow id="F3" sourceRef="Fork" targetRef="Task_b" />
    <bpmn:sequenceFlow id="F4" sourceRef="Task_a" targetRef="Join" />
    <bpmn:sequenceFlow id="F5" sourceRef="Task_b" targetRef="Join" />
    <bpmn:sequenceFlow id="F6" sourceRef="Join" targetRef="EndEvent_e" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_two_tasks_of_one_instance_completed_at_once_both_count(app: Flask, center_headers: dict[str, str]) -> None:
    with app.app_context():
        services.deploy("employer_change", PARALLEL, "center01")
        db.session().commit()
        consume(submitted())
    rows = open_tasks(app, center_headers)
    assert sorted(r["task"]["name"] for r in rows) == ["会签乙", "会签甲"]

    def complete(task_id: int) -> int:
        response = app.test_client().post(f"/tasks/{task_id}/complete", json={"decision": "approve"},
                                          headers=center_headers)
        return response.status_code

    assert _threads(app, [lambda t=r["task"]["id"]: complete(t) for r in rows]) == [200, 200]
    assert open_tasks(app, center_headers) == []
    [outcome] = [e for e in outbox_events(app) if e["type"] in ("business.approved", "business.rejected")]
    assert outcome["type"] == "business.approved"


def test_a_stale_save_of_an_instance_is_refused(app: Flask) -> None:
    with app.app_context():
        consume(submitted())
        session = db.session()
        instance = session.scalars(select(ProcessInstance)).one()
        # Another approver saved the instance since it was read here.
        session.execute(text("UPDATE process_instances SET version = version + 1"))
        instance.state = instance.state + " "
        with pytest.raises(StaleDataError):
            session.flush()
        session.rollback()
