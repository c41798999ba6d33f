"""A business type registered only in this test (as the member issue's will be), owned by a registry of
the employer service: submitted, returned, resubmitted and ended from the employer's 待办 through the
gateway, with the real workflow, notify and owner apps in process and their events handed on as the
relay routes them. No line of the gateway, notify or workflow names it: its title and permission come
from its registration, its page is the generic one (rows read from the owner, 重新提交, 结束流程)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from gateway import create_app
from hall_common import business_types, db
from hall_common.business import BusinessType, Column, Outcome, Rows, Summary
from hall_common.client import ServiceClient, ServiceError
from hall_common.consumer import consume
from hall_common.events import subscribers
from services.employer import services as employer_services
from services.workflow import definitions

from .conftest import EMPLOYER_NO, auth, make_app, outbox_events, token_for

TYPE, TITLE, PERMISSION = "member_transfer_test", "缴存人转移（测试）", "member_change"
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_transfer"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  targetNamespace="http://hall.example/bpmn">
  <bpmn:process id="{TYPE}" name="{TITLE}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_submitted"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="Task_review" name="转移审核"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="candidate_group" value="handler" /></spiffworkflow:properties>
      </bpmn:extensionElements><bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="Decision" default="F_rejected"><bpmn:incoming>F2</bpmn:incoming>
      <bpmn:outgoing>F_approved</bpmn:outgoing><bpmn:outgoing>F_rejected</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="End_approved"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="approved" /></spiffworkflow:properties>
      </bpmn:extensionElements><bpmn:incoming>F_approved</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="End_rejected"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="rejected" /></spiffworkflow:properties>
      </bpmn:extensionElements><bpmn:incoming>F_rejected</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_submitted" targetRef="Task_review" />
    <bpmn:sequenceFlow id="F2" sourceRef="Task_review" targetRef="Decision" />
    <bpmn:sequenceFlow id="F_approved" sourceRef="Decision" targetRef="End_approved">
      <bpmn:conditionExpression>approved == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_rejected" sourceRef="Decision" targetRef="End_rejected" />
  </bpmn:process>
</bpmn:definitions>
"""


class TransferOwner:
    """The owner's side of the test business: its rows and its state, kept as a real owner keeps them."""

    def __init__(self) -> None:
        self.rows = [{"name": "张三", "to": "太原市第二公司"}, {"name": "李四", "to": "太原市第三公司"}]
        self.status = "in_approval"
        self.outcomes: list[str] = []

    def read_rows(self, business_id: str, page: int, per_page: int) -> Rows | None:
        return Rows(EMPLOYER_NO, self.rows[(page - 1) * per_page:page * per_page], len(self.rows)) \
            if business_id == "1" else None

    def reopen(self, business_id: str, operator: str) -> bool:
        if self.status != "returned":
            return False
        self.status = "in_approval"
        return True

    def moved(self, status: str) -> Any:
        def handle(outcome: Outcome) -> None:
            self.outcomes.append(outcome.kind)
            self.status = status
        return handle

    def registration(self) -> BusinessType:
        return BusinessType(
            type=TYPE, title=TITLE, permission=PERMISSION,
            summarize=lambda business_id: Summary("转移2人", len(self.rows)), read_rows=self.read_rows,
            apply=self.moved("approved"), discard=self.moved("ended"), mark_returned=self.moved("returned"),
            reopen=self.reopen, columns=(Column("name", "姓名"), Column("to", "转入单位")), rows_caption="转移清册",
        )


class Stack:
    """The owner (employer), workflow and notify apps; the gateway's calls reach them through their test
    clients and their events are handed on by the routing table, as the relay would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.apps = {"employer": make_app("employer"), "workflow": make_app("workflow", seed=False),
                     "notify": make_app("notify")}
        self.handed: set[str] = set()
        with self.apps["workflow"].app_context():
            definitions.install(TYPE, BPMN, "center01", "新业务")
            db.session().commit()
        apps = self.apps

        def request(client: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
                    json: Any = None) -> Any:
            query = ("?" + urlencode(params, doseq=True)) if params else ""
            response = apps[client.service].test_client().open(path + query, method=method, json=json,
                                                               headers=client.headers)
            body = response.get_json()
            if response.status_code >= 400:
                raise ServiceError(client.service, response.status_code, body.get("message", ""), body.get("errors"))
            self.relay()
            return body

        monkeypatch.setattr(ServiceClient, "request", request)

    def relay(self) -> None:
        moved = True
        while moved:
            moved = False
            for app in self.apps.values():
                for event in outbox_events(app):
                    if event["id"] in self.handed:
                        continue
                    self.handed.add(event["id"])
                    moved = True
                    for target in subscribers(event):
                        if target in self.apps:
                            with self.apps[target].app_context():
                                consume(event)

    def center_returns(self, opinion: str) -> None:
        workflow = self.apps["workflow"].test_client()
        center = auth(token_for("center", None))
        [row] = workflow.get("/tasks", headers=center).get_json()["items"]
        done = workflow.post(f"/tasks/{row['task']['id']}/complete", json={"decision": "return", "opinion": opinion},
                             headers=center)
        assert done.status_code == 200, done.get_json()
        self.relay()


@pytest.fixture
def owner() -> Iterator[TransferOwner]:
    owner = TransferOwner()
    employer_services.BUSINESSES.register(owner.registration())
    try:
        yield owner
    finally:
        employer_services.BUSINESSES.unregister(TYPE)
    assert business_types.get(TYPE) is None  # the catalog forgets a type its registry withdrew


def operator(perms: list[str]) -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": token_for(perms=tuple(perms) or ("employer_info",)), "expires_at": time.time() + 3600,
            "last_active": time.time(), "sound_enabled": False,
            "principal": {"name": "王晓燕", "sub": "wangxy", "emp": EMPLOYER_NO, "emp_name": "太原市示例科技有限公司",
                          "perms": perms}}
    return client


def table(client: FlaskClient, box: str, **query: str) -> str:
    """The rows of a box's full list (without its filter form, which names every business type)."""
    page = client.get(f"/inbox/{box}", query_string=query).get_data(as_text=True)
    return re.search(rf'<table id="inbox-{box}">(.*?)</table>', page, re.S).group(1)  # type: ignore[union-attr]


def alert(client: FlaskClient, response: Any) -> str:
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    found = re.search(r'role="alert"[^>]*>\s*([^<]+)', page)
    return found.group(1).strip() if found else ""


def test_a_business_registered_only_here_is_resubmitted_and_ended_from_the_employers_todo(
    owner: TransferOwner, monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = Stack(monkeypatch)
    assert business_types.get(TYPE) is not None and business_types.get(TYPE).permission == PERMISSION  # type: ignore[union-attr]
    with stack.apps["employer"].app_context():
        employer_services.BUSINESSES.submit(db.session(), TYPE, "1", employer_no=EMPLOYER_NO,
                                            employer_name="太原市示例科技有限公司", initiator="王晓燕",
                                            initiator_login="wangxy")
        db.session().commit()
    stack.relay()
    stack.center_returns("请核对转入单位")
    assert owner.status == "returned"

    hall = operator([PERMISSION])
    todo = hall.get("/inbox/todo").get_data(as_text=True)
    assert TITLE in todo and "退回意见：请核对转入单位" in todo
    # The box's business filter offers every business type by its type (what the boxes store), this
    # one included, and no permission code that is not also a type.
    options = dict(re.findall(r'<option value="([^"]+)" >([^<]+)</option>', todo))
    assert options == {"push": "中心通知", **{i.type: i.title for i in business_types.DEFAULTS}, TYPE: TITLE}
    assert TITLE in table(hall, "todo", business_type=TYPE)
    assert TITLE not in table(hall, "todo", business_type="employer_change")
    instance_id = int(re.search(r'href="/processes/(\d+)">打开', todo).group(1))  # type: ignore[union-attr]

    # 打开: the generic returned-business page, with the rows as the owner keeps them.
    page = hall.get(f"/processes/{instance_id}").get_data(as_text=True)
    assert "转移清册" in page and "<td>张三</td><td>太原市第二公司</td>" in page
    assert 'id="resubmit-process"' in page and 'id="end-process"' in page
    assert "修改后重新提交或结束流程" not in page  # no page of its own to go to

    # An operator without the type's permission sees neither button and is refused both.
    other = operator(["employer_change"])
    refused_page = other.get(f"/processes/{instance_id}").get_data(as_text=True)
    assert 'id="resubmit-process"' not in refused_page and 'id="end-process"' not in refused_page
    assert alert(other, other.post(f"/processes/{instance_id}/resubmit")) == "当前账号无权办理该业务"
    assert alert(other, other.post(f"/processes/{instance_id}/end")) == "当前账号无权办理该业务"
    assert owner.status == "returned"

    resubmitted = hall.post(f"/processes/{instance_id}/resubmit")
    assert alert(hall, resubmitted) == "已重新提交至中心审核"
    assert owner.status == "in_approval"
    assert TITLE not in table(hall, "todo")
    assert TITLE in table(hall, "done")
    # A second click (a stale page) changes nothing: the business is no longer returned.
    again = hall.post(f"/processes/{instance_id}/resubmit")
    assert alert(hall, again) == "该业务未被退回，不能重新提交，请刷新后查看"

    stack.center_returns("仍需补充")
    ended = hall.post(f"/processes/{instance_id}/end", data={"reason": "不再转移"})
    assert alert(hall, ended) == f"流程已结束，可重新办理{TITLE}"
    assert owner.outcomes == ["returned", "returned", "ended"] and owner.status == "ended"
    done = table(hall, "done", business_type=TYPE)
    assert "已结束流程：不再转移" in done
    messages = table(hall, "message")
    assert f"尊敬的太原市示例科技有限公司，您的{TITLE}业务（业务编号1）已结束流程。原因：不再转移" in messages
    assert f"您提交的{TITLE}业务（业务编号1）被退回，退回意见：请核对转入单位" in messages
