"""退回 and what follows, through the real stack (gunicorn services, Redis, a Celery worker process,
SpiffWorkflow on the shipped BPMN): the employer corrects a returned change with its data kept and
resubmits it into the same process, which the center then approves; or ends it (结束流程) and files
the business again."""

from __future__ import annotations

from deploy.stack import Stack

from .helpers import (
    EMPLOYER,
    center_api,
    current_change,
    employer_api,
    open_task_for,
    profile_values,
    returned_change,
    submit_change,
    wait_for,
)


def test_return_correct_resubmit_approve_in_one_instance(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    request_id, first = returned_change(employer, center, {"postcode": "030009"}, "邮政编码与地址不符")
    # The data is kept: the employer sees what it filed, and corrects it.
    assert [c["new"] for c in current_change(employer)["changes"]] == ["030009"]  # type: ignore[index]
    corrected = employer.call("PUT", "employer", f"/employers/{EMPLOYER}/change-requests/{request_id}",
                              json={"changes": [{"field": "postcode", "value": "030001"}]})
    assert corrected.status_code == 200, corrected.text

    again = open_task_for(center, request_id)
    assert again["instance"]["id"] == first["instance"]["id"]  # the same process instance
    assert again["task"]["id"] != first["task"]["id"] and again["task"]["bpmn_id"] == first["task"]["bpmn_id"]
    done = center.call("POST", "workflow", f"/tasks/{again['task']['id']}/complete",
                       json={"decision": "approve", "opinion": "同意"})
    assert done.status_code == 200, done.text
    wait_for(lambda: profile_values(employer)["postcode"] == "030001", what="the corrected change applied")

    instance = employer.get("workflow", f"/businesses/employer_change/{request_id}/instance")
    path = employer.get("workflow", f"/instances/{instance['id']}/path")
    assert path["instance"]["outcome"] == "approved" and path["current"] == [] and path["can_end"] is False
    assert path["taken_flows"] and set(path["completed"]) >= {first["task"]["bpmn_id"]}
    decisions = [(s["decision"], s["handler"]) for s in path["steps"]]
    assert decisions[:4] == [("submit", "王晓燕"), ("return", "中心审核员李明"), ("resubmit", "王晓燕"),
                             ("approve", "中心审核员李明")]
    assert decisions[-1][0] == "approved"
    # 我发起的 is the submitting operator's, by login name, carried employer -> workflow -> notify.
    def initiated(login: str) -> list[int]:
        page = employer.get("notify", f"/employers/{EMPLOYER}/inbox/initiated", initiator=login, per_page=200)
        return [item["instance_id"] for item in page["items"]]

    wait_for(lambda: instance["id"] in initiated(EMPLOYER), what="the process in the operator's 我发起的")
    assert instance["id"] not in initiated("another-operator")


def test_return_then_end_and_submit_again(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    request_id, first = returned_change(employer, center, {"phone": "0351-1111111"}, "电话号码有误")
    instance_id = first["instance"]["id"]
    assert employer.get("workflow", f"/instances/{instance_id}/path")["can_end"] is True
    ended = employer.call("POST", "workflow", f"/instances/{instance_id}/end", json={"reason": "暂不变更"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "ended"
    wait_for(lambda: current_change(employer) is None, what="the business discarded")
    twice = employer.call("POST", "workflow", f"/instances/{instance_id}/end", json={"reason": "again"})
    assert (twice.status_code, twice.json()["message"]) == (409, "当前流程不允许结束")

    # The business may be filed again: a new request, a new process.
    phone = "0351-2222222" if profile_values(employer)["phone"] != "0351-2222222" else "0351-3333333"
    again = submit_change(employer, {"phone": phone})
    assert again.status_code == 201, again.text
    row = open_task_for(center, again.json()["request"]["id"])
    assert row["instance"]["id"] != instance_id
    done = center.call("POST", "workflow", f"/tasks/{row['task']['id']}/complete",
                       json={"decision": "reject", "opinion": "演练结束"})
    assert done.status_code == 200, done.text
    wait_for(lambda: current_change(employer) is None, what="the second request finished")
