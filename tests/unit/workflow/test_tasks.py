"""The center inbox: tasks of the caller's groups, claim and release, complete with the opinion the
decision needs, the admin's reassign; and the events the task center is built from."""

from __future__ import annotations

from flask import Flask

from .conftest import center, complete, employer, events_of, post, submit, tasks, the_task


def handler() -> dict[str, str]:
    return center("zhang", "经办张三", groups=("handler",), admin=False)


def other_handler() -> dict[str, str]:
    return center("li", "经办李四", groups=("handler",), admin=False)


def reviewer() -> dict[str, str]:
    return center("wang", "复核王五", groups=("reviewer",), admin=False)


def test_the_group_inbox_shows_the_tasks_of_the_callers_groups_only(app: Flask) -> None:
    assert submit(app) == "processed"
    [row] = tasks(app, handler())
    assert row["task"]["name"] == "中心审核"
    assert row["task"]["candidate_group"] == "handler"
    assert row["task"]["assignee"] is None
    assert row["instance"]["summary"] == "单位地址" and row["instance"]["status"] == "running"
    assert tasks(app, reviewer()) == []
    # The admin's monitor sees every task; a non-admin may not ask for all.
    assert len(tasks(app, center(), scope="all")) == 1
    refused = app.test_client().get("/tasks", query_string={"scope": "all"}, headers=handler())
    assert refused.status_code == 403
    assert app.test_client().get("/tasks", headers=employer()).status_code == 403
    assert tasks(app, handler(), business_type="member_seal") == []


def test_claim_release_and_the_claim_of_another(app: Flask) -> None:
    submit(app)
    task_id = the_task(app, headers=handler())["task"]["id"]
    outsider = post(app, f"/tasks/{task_id}/claim", reviewer())
    assert (outsider.status_code, outsider.get_json()["message"]) == (403, "您不在该任务的候选组中")

    claimed = post(app, f"/tasks/{task_id}/claim", handler())
    assert claimed.status_code == 200
    mine = claimed.get_json()["task"]
    assert (mine["assignee"], mine["assignee_name"]) == ("zhang", "经办张三")
    assert [r["task"]["id"] for r in tasks(app, handler(), scope="mine")] == [task_id]
    assert post(app, f"/tasks/{task_id}/claim", handler()).status_code == 200  # again: nothing changes

    taken = post(app, f"/tasks/{task_id}/claim", other_handler())
    assert (taken.status_code, taken.get_json()["message"]) == (409, "该任务已被经办张三认领")
    # Neither may the other handler complete it, nor release it.
    assert complete(app, task_id, "approve", headers=other_handler()).get_json()["message"] == "该任务已被经办张三认领"
    assert post(app, f"/tasks/{task_id}/release", other_handler()).status_code == 403

    released = post(app, f"/tasks/{task_id}/release", handler())
    assert released.status_code == 200 and released.get_json()["task"]["assignee"] is None
    assert tasks(app, handler(), scope="mine") == []
    # Released: now the other handler may claim it.
    assert post(app, f"/tasks/{task_id}/claim", other_handler()).status_code == 200

    claims = events_of(app, "task.claimed")
    assert [e["data"]["handler"] for e in claims] == ["经办张三", "经办李四"]


def test_complete_claims_implicitly_and_the_events_tell_the_story_in_order(app: Flask) -> None:
    submit(app)
    task_id = the_task(app, headers=handler())["task"]["id"]
    outsider = complete(app, task_id, "approve", headers=reviewer())
    assert (outsider.status_code, outsider.get_json()["message"]) == (403, "您不在该任务的候选组中")
    done = complete(app, task_id, "approve", "同意", headers=handler())
    assert done.status_code == 200
    body = done.get_json()
    assert body["task"]["assignee"] == "zhang" and body["task"]["decision"] == "approve"
    assert body["instance"]["status"] == "completed" and body["instance"]["outcome"] == "approved"
    again = complete(app, task_id, "reject", "晚了", headers=handler())
    assert (again.status_code, again.get_json()["message"]) == (409, "该任务已办理，请刷新后查看")

    history = events_of(app)
    assert [e["type"] for e in history] == [
        "process.started", "task.created", "task.completed", "process.completed", "business.approved"]
    assert [e["data"]["seq"] for e in history] == [1, 2, 3, 4, 5]
    started, created, completed, finished, outcome = (e["data"] for e in history)
    assert started["summary"] == "单位地址" and started["initiator"] == "王晓燕"
    assert (created["task_name"], created["candidate_group"]) == ("中心审核", "handler")
    assert (completed["handler"], completed["decision"], completed["opinion"]) == ("经办张三", "approve", "同意")
    assert (finished["outcome"], finished["approver"]) == ("approved", "经办张三")
    assert outcome["owner"] == "employer" and outcome["approver"] == "经办张三"
    for data in (started, created, completed, finished):
        assert data["employer_no"] == "100100001" and data["business_id"] == "1" and data["at"].endswith("Z")
    # Done tasks: the approver's 已办.
    assert [r["task"]["id"] for r in tasks(app, handler(), status="completed", scope="mine")] == [task_id]


def test_reject_and_return_need_an_opinion(app: Flask) -> None:
    submit(app)
    task_id = the_task(app)["task"]["id"]
    for decision, message in (("reject", "审批不通过时请填写审批意见"), ("return", "退回时请填写退回意见")):
        refused = complete(app, task_id, decision, "   ")
        assert (refused.status_code, refused.get_json()["message"]) == (422, message)
        assert refused.get_json()["errors"]["json"]["opinion"] == [message]
    bad = complete(app, task_id, "maybe")
    assert bad.get_json()["message"] == "审批结果应为通过、不通过或退回"
    assert the_task(app)["task"]["status"] == "open"  # nothing stored half-way
    done = complete(app, task_id, "reject", "材料不全")
    assert done.get_json()["instance"]["outcome"] == "rejected"
    [outcome] = events_of(app, "business.approved", "business.rejected")
    assert outcome["type"] == "business.rejected" and outcome["data"]["opinion"] == "材料不全"


def test_an_admin_reassigns_a_task_to_a_user_who_then_completes_it(app: Flask) -> None:
    submit(app)
    task_id = the_task(app)["task"]["id"]
    post(app, f"/tasks/{task_id}/claim", handler())
    assert post(app, f"/tasks/{task_id}/reassign", handler(), {"login_name": "li"}).status_code == 403
    moved = post(app, f"/tasks/{task_id}/reassign", center(), {"login_name": "zhao", "display_name": "赵六"})
    assert moved.status_code == 200 and moved.get_json()["task"]["assignee_name"] == "赵六"
    # 赵六 is in no group: the reassignment itself lets him complete it; 张三 no longer may.
    assert complete(app, task_id, "approve", headers=handler()).status_code == 409
    zhao = center("zhao", "赵六", groups=(), admin=False)
    assert [r["task"]["id"] for r in tasks(app, zhao, scope="mine")] == [task_id]
    assert complete(app, task_id, "approve", "同意", headers=zhao).status_code == 200
    approval, record = app.test_client().get("/audit-records", headers=center()).get_json()["items"]
    assert (record["actor"], record["action"], record["target"]) == ("center01", "reassign_task", f"task/{task_id}")
    assert record["before"]["assignee"] == "zhang" and record["after"]["assignee"] == "zhao"
    # The approval with its opinion is in the audit trail too, after the reassignment.
    assert (approval["actor"], approval["action"], approval["target"]) == ("zhao", "complete_task", f"task/{task_id}")
    assert approval["after"]["decision"] == "approve" and approval["after"]["opinion"] == "同意"
    assert approval["detail"].endswith("中心审核：通过")
    assert app.test_client().get("/audit-records", headers=handler()).status_code == 403
    late = post(app, f"/tasks/{task_id}/reassign", center(), {"login_name": "li"})
    assert (late.status_code, late.get_json()["message"]) == (409, "该任务已办理，请刷新后查看")


def test_the_completion_answers_the_task_as_stored(app: Flask) -> None:
    submit(app)
    task_id = the_task(app)["task"]["id"]
    done = complete(app, task_id, "approve", "同意变更", headers=handler())
    assert done.status_code == 200
    answered = done.get_json()["task"]
    stored = app.test_client().get(f"/tasks/{task_id}", headers=center()).get_json()["task"]
    assert answered == stored
    assert (answered["status"], answered["assignee"], answered["assignee_name"], answered["decision"],
            answered["opinion"]) == ("completed", "zhang", "经办张三", "approve", "同意变更")
    assert answered["completed_at"]
