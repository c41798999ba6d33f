"""退回 and resubmission into the same instance, 结束流程 by the employer, termination by the center,
and the path the employer and the center see."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .conftest import MAY_END, center, complete, employer, events_of, post, resubmit, submit, tasks, the_task


def path(app: Flask, instance_id: int, headers: dict[str, str] | None = None) -> Any:
    return app.test_client().get(f"/instances/{instance_id}/path", headers=headers or employer())


def returned(app: Flask) -> int:
    submit(app)
    row = the_task(app)
    done = complete(app, row["task"]["id"], "return", "请补充地址证明")
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["task"]["decision"] == "return"
    assert done.get_json()["instance"]["status"] == "returned"
    return int(row["instance"]["id"])


def test_return_resubmit_approve_runs_one_instance_and_keeps_every_step(app: Flask) -> None:
    instance_id = returned(app)
    assert tasks(app, center()) == []  # nothing for the center while the employer corrects
    back = events_of(app, "process.returned", "business.returned")
    assert [e["type"] for e in back] == ["process.returned", "business.returned"]
    assert back[0]["data"]["opinion"] == "请补充地址证明" and back[0]["data"]["task_name"] == "中心审核"
    assert back[1]["data"]["owner"] == "employer" and back[1]["data"]["approver"] == "中心审核员李明"
    assert back[1]["data"]["instance_id"] == instance_id
    view = path(app, instance_id).get_json()
    assert view["can_end"] is True and view["current"] == []
    assert path(app, instance_id, center()).get_json()["can_end"] is False

    assert resubmit(app, summary="单位地址（已补充）") == "processed"
    [row] = tasks(app, center())
    assert row["instance"]["id"] == instance_id and row["instance"]["status"] == "running"
    assert row["instance"]["summary"] == "单位地址（已补充）" and row["task"]["bpmn_id"] == "Task_center_review"
    again = [e["type"] for e in events_of(app)][-2:]
    assert again == ["process.resubmitted", "task.created"]
    # A redelivered or late resubmission changes nothing: the instance is running already.
    assert resubmit(app) == "processed"
    assert len(tasks(app, center())) == 1

    done = complete(app, row["task"]["id"], "approve", "同意")
    assert done.get_json()["instance"]["outcome"] == "approved"
    view = path(app, instance_id).get_json()
    assert view["completed"] == ["StartEvent_submitted", "Task_center_review", "Gateway_decision", "EndEvent_approved"]
    assert view["taken_flows"] == ["Flow_to_review", "Flow_to_gateway", "Flow_approved"]
    assert view["current"] == [] and view["can_end"] is False
    steps = [(s["name"], s["handler"], s["decision"], s["opinion"]) for s in view["steps"]]
    assert steps == [
        ("提交", "王晓燕", "submit", None),
        ("中心审核", "中心审核员李明", "return", "请补充地址证明"),
        ("重新提交", "王晓燕", "resubmit", ""),
        ("中心审核", "中心审核员李明", "approve", "同意"),
        ("审批通过", "", "approved", None),
    ]
    assert all(s["started_at"] and s["ended_at"] for s in view["steps"])
    seqs = [e["data"]["seq"] for e in events_of(app)]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_the_path_of_a_running_process_marks_the_current_node(app: Flask) -> None:
    submit(app)
    instance_id = the_task(app)["instance"]["id"]
    view = path(app, instance_id).get_json()
    assert view["completed"] == ["StartEvent_submitted"] and view["taken_flows"] == ["Flow_to_review"]
    assert view["current"] == ["Task_center_review"] and view["can_end"] is False  # not allowed by this definition
    assert view["steps"][-1]["name"] == "中心审核" and view["steps"][-1]["ended_at"] is None
    other = path(app, instance_id, employer("200200002"))
    unknown = path(app, 999, employer("200200002"))
    assert (other.status_code, other.get_json()["message"]) == (404, "流程实例不存在")
    assert (unknown.status_code, unknown.get_json()["message"]) == (404, "流程实例不存在")
    # The employer page finds its process by the business.
    client = app.test_client()
    found = client.get("/businesses/employer_change/1/instance", headers=employer())
    assert found.status_code == 200 and found.get_json()["id"] == instance_id
    assert client.get("/businesses/employer_change/1/instance", headers=employer("200200002")).status_code == 404
    assert client.get("/businesses/employer_change/2/instance", headers=employer()).status_code == 404


def test_return_then_end_discards_and_a_late_resubmission_is_ignored(app: Flask) -> None:
    instance_id = returned(app)
    assert post(app, f"/instances/{instance_id}/end", employer("200200002"), {"reason": "x"}).status_code == 404
    assert post(app, f"/instances/{instance_id}/end", center(), {"reason": "x"}).status_code == 403
    ended = post(app, f"/instances/{instance_id}/end", employer(), {"reason": "不再变更"})
    assert ended.status_code == 200, ended.get_json()
    assert (ended.get_json()["status"], ended.get_json()["outcome"]) == ("ended", "ended")
    again = post(app, f"/instances/{instance_id}/end", employer(), {"reason": "再结束"})
    assert (again.status_code, again.get_json()["message"]) == (409, "当前流程不允许结束")
    last = events_of(app)[-2:]
    assert [e["type"] for e in last] == ["process.ended", "business.ended"]
    assert last[0]["data"]["by"] == "employer" and last[1]["data"]["reason"] == "不再变更"
    assert last[1]["data"]["owner"] == "employer"
    assert resubmit(app) == "processed"  # arrives after the end: nothing runs again
    assert tasks(app, center()) == []
    assert path(app, instance_id).get_json()["steps"][-1]["name"] == "结束流程"
    # The business may be submitted again: the owner files it as a new business.
    submit(app, "2")
    assert the_task(app, "2")["instance"]["status"] == "running"


def test_ending_a_running_process_follows_the_definitions_switch(app: Flask) -> None:
    submit(app, "1")
    first = the_task(app, "1")["instance"]["id"]
    refused = post(app, f"/instances/{first}/end", employer(), {})
    assert (refused.status_code, refused.get_json()["message"]) == (409, "当前流程不允许结束")
    deployed = post(app, "/definitions/employer_change/deploy", center(), {"bpmn_xml": MAY_END, "note": "允许结束"})
    assert deployed.status_code == 201
    submit(app, "2")
    second = the_task(app, "2")
    assert path(app, second["instance"]["id"]).get_json()["can_end"] is True
    assert post(app, f"/instances/{second['instance']['id']}/end", employer(), {}).status_code == 200
    # Its open task is cancelled: gone from the inbox, and completing it answers as done.
    assert [r["instance"]["business_id"] for r in tasks(app, center())] == ["1"]
    late = complete(app, second["task"]["id"], "approve")
    assert (late.status_code, late.get_json()["message"]) == (409, "该任务已办理，请刷新后查看")


def test_an_admin_terminates_with_a_reason_and_it_is_audited(app: Flask) -> None:
    submit(app)
    row = the_task(app)
    instance_id = row["instance"]["id"]
    assert post(app, f"/instances/{instance_id}/terminate", center(admin=False), {"reason": "x"}).status_code == 403
    blank = post(app, f"/instances/{instance_id}/terminate", center(), {"reason": "  "})
    assert (blank.status_code, blank.get_json()["message"]) == (422, "请填写终止原因")
    done = post(app, f"/instances/{instance_id}/terminate", center(), {"reason": "重复提交"})
    assert done.status_code == 200
    assert (done.get_json()["status"], done.get_json()["end_reason"]) == ("terminated", "重复提交")
    assert post(app, f"/instances/{instance_id}/terminate", center(), {"reason": "again"}).status_code == 409
    assert complete(app, row["task"]["id"], "approve").status_code == 409
    [record] = app.test_client().get("/audit-records", headers=center()).get_json()["items"]
    assert (record["action"], record["before"], record["after"]) == (
        "terminate_instance", {"status": "running"}, {"status": "terminated", "reason": "重复提交"})
    ended = events_of(app, "process.ended", "business.ended")
    assert [e["data"]["by"] for e in ended] == ["center", "center"]


def test_the_monitor_filters_instances(app: Flask) -> None:
    submit(app, "1")
    submit(app, "2")
    complete(app, the_task(app, "2")["task"]["id"], "approve")
    client = app.test_client()

    def ids(**query: Any) -> list[str]:
        response = client.get("/instances", query_string=query, headers=center())
        assert response.status_code == 200, response.get_json()
        return [i["business_id"] for i in response.get_json()["items"]]

    assert ids() == ["2", "1"]
    assert ids(status="running") == ["1"] and ids(status="completed") == ["2"]
    assert ids(employer_no="100100001", business_type="employer_change") == ["2", "1"]
    assert ids(business_type="member_seal") == [] and ids(employer_no="200200002") == []
    assert ids(date_from="2000-01-01", date_to="2999-12-31") == ["2", "1"] and ids(date_to="2000-01-01") == []
    assert client.get("/instances", query_string={"status": "lost"}, headers=center()).status_code == 422
    assert client.get("/instances", headers=employer()).status_code == 403
