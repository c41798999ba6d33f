"""Each of the eight default business types through submit, return, resubmit, return and 结束流程 on
the real engine with its shipped process, and its events folded by the real notify handlers: the
employer's 待办 / 已办 / 我发起的 and 消息 with the title, permission and wording of the type's one
declaration (hall_common/business_types.py), the business filter of every box, and 结束流程 allowed
by the permission the instance carries and refused without it."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from hall_common import business_types, db
from hall_common.consumer import consume
from hall_common.events import subscribers
from services.workflow import definitions
from services.workflow.definitions import PROCESS_DIR

from ..conftest import auth, make_app, token_for
from .conftest import EMPLOYER_NO, bpmn, center, complete, event, events_of, post, the_task

BASE = f"/employers/{EMPLOYER_NO}"
# Confirmed without approval by default: the center adds a review in the designer to return one.
NO_TASK = ("member_registration", "member_seal", "member_unseal")
REVIEW = (
    '<bpmn:userTask id="Task_handler_review" name="经办审核"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="candidate_group" value="handler" /></spiffworkflow:properties>'
    '</bpmn:extensionElements><bpmn:incoming>Flow_to_end</bpmn:incoming><bpmn:outgoing>Flow_review_end</bpmn:outgoing>'
    '</bpmn:userTask><bpmn:sequenceFlow id="Flow_review_end" sourceRef="Task_handler_review" '
    'targetRef="EndEvent_approved" />'
)
VARIABLES = {"base_adjustment": {"max_raise_pct": 10}}


def with_review(key: str) -> str:
    """The shipped file with a review task between its start and its end, as a center admin would draw it."""
    xml = (PROCESS_DIR / f"{key}.bpmn").read_text(encoding="utf-8")
    xml = xml.replace("<bpmn:incoming>Flow_to_end</bpmn:incoming>", "<bpmn:incoming>Flow_review_end</bpmn:incoming>")
    flow = '<bpmn:sequenceFlow id="Flow_to_end" sourceRef="StartEvent_submitted" targetRef="EndEvent_approved" />'
    assert flow in xml
    return xml.replace(flow, flow.replace("EndEvent_approved", "Task_handler_review") + REVIEW)


class Hall:
    """The workflow app and the notify app, the workflow's events handed to notify as the relay would."""

    def __init__(self, workflow: Flask) -> None:
        self.workflow, self.notify = workflow, make_app("notify")
        self.delivered: set[str] = set()

    def deliver(self) -> None:
        for emitted in events_of(self.workflow):
            if emitted["id"] not in self.delivered and "notify" in subscribers(emitted):
                self.delivered.add(emitted["id"])
                with self.notify.app_context():
                    assert consume(emitted) == "processed", emitted["type"]

    def box(self, name: str, **query: Any) -> dict[str, Any]:
        response = self.notify.test_client().get(f"{BASE}/inbox/{name}", query_string=query,
                                                 headers=auth(token_for()))
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body


def submission(key: str, type_: str = "business.submitted") -> dict[str, Any]:
    """The owner's event as its registry builds it: the catalog's title and owner (the permission left
    out, as an owner built before it travelled: the workflow takes the catalog's)."""
    info = business_types.resolve(key)
    sent = event(type_, "1", key, variables=VARIABLES.get(key), summary=f"{info.title}清册")
    sent["data"].update(title=info.title, owner=info.owner)
    return sent


@pytest.mark.parametrize("key", [info.type for info in business_types.DEFAULTS])
def test_a_default_business_type_is_returned_resubmitted_and_ended_from_the_employers_boxes(
    app: Flask, key: str,
) -> None:
    info = business_types.resolve(key)
    assert info.permission and (PROCESS_DIR / f"{key}.bpmn").exists()
    if key in NO_TASK:
        with app.app_context():
            definitions.install(key, with_review(key), "center01", "加经办审核")
            db.session().commit()
    hall = Hall(app)
    with app.app_context():
        assert consume(submission(key)) == "processed"
    task = the_task(app)
    instance_id = task["instance"]["id"]
    assert task["instance"]["permission"] == info.permission
    assert complete(app, task["task"]["id"], "return", "请补充材料").status_code == 200
    hall.deliver()

    [todo] = hall.box("todo", business_type=key)["items"]
    assert (todo["instance_id"], todo["title"], todo["permission"], todo["can_end"]) == (
        instance_id, info.title, info.permission, True)
    step = task["task"]["name"]
    assert todo["content"] == (f"您提交的{info.title}业务被退回（{step}），退回意见：请补充材料。"
                               "请修改后重新提交或结束流程")
    other = next(t.type for t in business_types.DEFAULTS if t.type != key)
    assert hall.box("todo", business_type=other)["total"] == 0  # the filter is by business type
    [returned] = hall.box("message", business_type=key)["items"]
    assert returned["title"] == info.title
    # A type that declares what its summary is called (变更项, 人数) names it in the message.
    reference = f"业务编号1，{info.summary_label}：{info.title}清册" if info.summary_label else "业务编号1"
    assert returned["content"] == (f"尊敬的太原市示例科技有限公司，您提交的{info.title}业务（{reference}）被退回，"
                                   "退回意见：请补充材料。请修改后重新提交或结束流程")

    # 重新提交: the same instance runs again from its first user task.
    with app.app_context():
        assert consume(submission(key, "business.resubmitted")) == "processed"
    again = the_task(app)
    assert again["instance"]["id"] == instance_id and again["instance"]["status"] == "running"
    hall.deliver()
    assert hall.box("todo", business_type=key)["total"] == 0
    [done] = hall.box("done", business_type=key)["items"]
    assert (done["instance_id"], done["status"]) == (instance_id, "running")

    # Returned again, then 结束流程: only with the permission the instance carries.
    assert complete(app, again["task"]["id"], "return", "仍需补充").status_code == 200
    unrelated = next(p for p in ("employer_info", "employer_query") if p != info.permission)
    refused = post(app, f"/instances/{instance_id}/end", auth(token_for(perms=(unrelated,))), {"reason": "x"})
    assert (refused.status_code, refused.get_json()["message"]) == (403, "当前账号无权办理该业务")
    holder = auth(token_for(perms=(info.permission,)))
    path = app.test_client().get(f"/instances/{instance_id}/path", headers=holder)
    assert path.get_json()["can_end"] is True and path.get_json()["instance"]["permission"] == info.permission
    ended = post(app, f"/instances/{instance_id}/end", holder, {"reason": "不再办理"})
    assert ended.status_code == 200, ended.get_json()
    hall.deliver()
    assert hall.box("todo", business_type=key)["total"] == 0
    [done] = hall.box("done", business_type=key)["items"]
    assert (done["status"], done["content"]) == ("ended", "已结束流程：不再办理")
    [initiated] = hall.box("initiated", business_type=key)["items"]
    assert initiated["status_name"] == "已结束"
    newest = hall.box("message", business_type=key)["items"][0]
    assert newest["content"] == (f"尊敬的太原市示例科技有限公司，您的{info.title}业务（{reference}）"
                                 "已结束流程。原因：不再办理")
    assert [e["type"] for e in events_of(app)][-2:] == ["process.ended", "business.ended"]
    assert tasks_left(app) == []


def tasks_left(app: Flask) -> list[Any]:
    response = app.test_client().get("/tasks", headers=center())
    return list(response.get_json()["items"])


def test_the_permission_travels_with_a_type_this_process_never_declared(app: Flask) -> None:
    """An owner in another process registered the type: the workflow knows its permission only from the
    submission, stores it on the instance and puts it on every event, and ends by it."""
    key = "declared_elsewhere"
    assert business_types.get(key) is None
    with app.app_context():
        definitions.install(key, bpmn("employer_change.bpmn").replace('"employer_change"', f'"{key}"'))
        db.session().commit()
        sent = event("business.submitted", "5", key)
        sent["data"].update(title="别处的业务", permission="seal")
        assert consume(sent) == "processed"
    task = the_task(app, "5")
    assert task["instance"]["permission"] == "seal"
    assert complete(app, task["task"]["id"], "return", "补充").status_code == 200
    assert {e["data"]["permission"] for e in events_of(app, "process.started", "task.created", "process.returned")} \
        == {"seal"}
    url = f"/instances/{task['instance']['id']}/end"
    assert post(app, url, auth(token_for(perms=("employer_change",))), {}).status_code == 403
    assert post(app, url, auth(token_for(perms=("seal",))), {}).status_code == 200
