"""The business-type registry: outcomes dispatched by type and decided once, rows read from the owner,
and what travels with a business independent of its size."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hall_common import db
from hall_common.business import (
    BusinessRegistry,
    BusinessType,
    Column,
    Outcome,
    Rows,
    Summary,
    UnknownBusinessType,
    checked_summary,
)
from hall_common.consumer import consume
from hall_common.events import make_event
from hall_common.runtime import get_runtime
from services.employer import services as employer_services
from services.employer.models import ChangeHistory, ChangeRequest
from services.workflow.models import ProcessInstance

from ..threads import at_once
from .conftest import EMPLOYER_NO, auth, make_app, outbox_events, token_for
from .employer_support import submit


@pytest.fixture
def employer_app() -> Flask:
    return make_app("employer")


def outcome_event(request_id: int | str, approved: bool, business_type: str = "employer_change") -> dict[str, Any]:
    return make_event("workflow", "business.approved" if approved else "business.rejected", {
        "business_type": business_type, "business_id": str(request_id), "owner": "employer",
        "employer_no": EMPLOYER_NO, "approver": "中心审核员李明", "opinion": "同意" if approved else "不同意",
    })


def processed_ids(app: Flask) -> list[str]:
    with app.app_context():
        model = get_runtime().plumbing.processed
        return list(db.session().scalars(select(model.event_id)))


# -- dispatch by business type ----------------------------------------------------------------------

def test_an_outcome_of_an_unknown_business_type_raises_and_is_not_recorded(employer_app: Flask) -> None:
    event = outcome_event(1, approved=True, business_type="no_such_business")
    for _ in range(2):  # a redelivery fails the same way: nothing was recorded as processed
        with employer_app.app_context(), pytest.raises(UnknownBusinessType, match="no_such_business"):
            consume(event)
    assert processed_ids(employer_app) == []


def test_an_outcome_for_a_missing_business_raises(employer_app: Flask) -> None:
    with employer_app.app_context(), pytest.raises(LookupError, match="change request 999"):
        consume(outcome_event(999, approved=True))
    assert processed_ids(employer_app) == []


def test_a_business_type_has_one_owner_and_one_registration() -> None:
    existing = employer_services.BUSINESSES.get("employer_change")
    with pytest.raises(ValueError, match="already registered"):
        BusinessRegistry("member").register(existing)
    with pytest.raises(ValueError, match="already registered"):
        employer_services.BUSINESSES.register(existing)
    with pytest.raises(UnknownBusinessType):
        BusinessRegistry("member").get("employer_change")


def test_a_registration_takes_title_and_permission_from_the_catalog_and_may_not_contradict_it() -> None:
    from dataclasses import replace

    from hall_common import business_types

    change = employer_services.BUSINESSES.get("employer_change")
    assert (change.title, change.permission) == ("单位信息变更", "employer_change")  # not written by the owner
    registry = BusinessRegistry("employer")
    # A type the catalog declares (as it does every default type) that no service has registered yet.
    business_types.declare(business_types.BusinessTypeInfo("catalog_test_business", "目录业务", "employer", "closure"))
    declared = replace(change, type="catalog_test_business", title="", permission=None)
    try:
        for wrong in (replace(declared, title="销户"), replace(declared, permission="employer_change")):
            with pytest.raises(ValueError, match="differs from its declaration"):
                registry.register(wrong)
        with pytest.raises(ValueError, match="differs from its declaration"):  # the catalog names another owner
            BusinessRegistry("member").register(declared)
        assert registry.register(declared).title == "目录业务"
        registry.unregister("catalog_test_business")
        assert business_types.get("catalog_test_business") is not None  # declared in the catalog, it stays
    finally:
        business_types.withdraw("catalog_test_business")
    # A type the catalog lacks: its registration declares it, its unregistration withdraws it.
    registry.register(replace(change, type="new_test_business", title="新业务", permission="seal"))
    declared = business_types.get("new_test_business")
    assert declared is not None
    assert (declared.owner, declared.title, declared.permission) == ("employer", "新业务", "seal")
    registry.unregister("new_test_business")
    assert business_types.get("new_test_business") is None


def test_what_travels_with_a_business_stays_small() -> None:
    long = checked_summary(Summary("单位地址" * 100, 1))
    assert len(long.text) == 200 and long.text.endswith("…")
    with pytest.raises(ValueError, match="only what gateways decide on"):
        checked_summary(Summary("x", 1, {"rows": "x" * 300}))
    with pytest.raises(ValueError, match="not allowed"):
        checked_summary(Summary("x", 1, {"approved": True}))
    with pytest.raises(ValueError, match="text, an integer or a boolean"):
        checked_summary(Summary("x", 1, {"amount": Decimal("1.00")}))  # type: ignore[dict-item]


# -- decided once -----------------------------------------------------------------------------------

def test_ten_concurrent_deliveries_of_one_outcome_apply_it_once(
    employer_app: Flask, employer_headers: dict[str, str]
) -> None:
    request_id = submit(employer_app, employer_headers, {"address": "并发路1号", "phone": "0351-2223333"})
    event = outcome_event(request_id, approved=True)
    results = at_once([lambda: consume(event)] * 10, employer_app)
    assert sorted(map(str, results)) == ["duplicate"] * 9 + ["processed"]
    with employer_app.app_context():
        history = db.session().scalar(select(func.count()).select_from(ChangeHistory)
                                      .where(ChangeHistory.request_id == request_id))
    assert history == 2
    assert len([e for e in outbox_events(employer_app) if e["type"] == "employer.info_changed"]) == 1


def test_an_approval_racing_a_rejection_decides_once(employer_app: Flask, employer_headers: dict[str, str]) -> None:
    request_id = submit(employer_app, employer_headers, {"postcode": "030002"})
    events = [outcome_event(request_id, approved=i % 2 == 0) for i in range(10)]  # ten distinct event ids
    results = at_once([lambda e=e: consume(e) for e in events], employer_app)
    assert results == ["processed"] * 10, results
    decided = [e for e in outbox_events(employer_app) if e["type"].startswith("employer.info_change")]
    assert len(decided) == 1
    with employer_app.app_context():
        request = db.session().get(ChangeRequest, request_id)
        assert request is not None
        history = db.session().scalar(select(func.count()).select_from(ChangeHistory))
    approved = decided[0]["type"] == "employer.info_changed"
    assert request.status == ("approved" if approved else "rejected")
    assert history == (1 if approved else 0)


# -- the rows, read from the owner ------------------------------------------------------------------

def test_the_center_and_the_employer_itself_read_the_rows(
    employer_app: Flask, employer_headers: dict[str, str], center_headers: dict[str, str],
    other_employer_headers: dict[str, str],
) -> None:
    request_id = submit(employer_app, employer_headers, {"address": "新地址9号", "postcode": "030009"})
    client = employer_app.test_client()
    url = f"/businesses/employer_change/{request_id}"
    body = client.get(url, headers=center_headers).get_json()
    assert body["caption"] == "变更清册"
    assert [c["label"] for c in body["columns"]] == ["变更项目", "变更前", "变更后"]
    assert [(r["label"], r["new"]) for r in body["items"]] == [("单位地址", "新地址9号"), ("邮政编码", "030009")]
    assert body["total"] == 2
    second = client.get(url, query_string={"page": 2, "per_page": 1}, headers=employer_headers).get_json()
    assert [r["label"] for r in second["items"]] == ["邮政编码"]
    assert client.get(url).status_code == 401
    # Another employer's business answers as a missing one: ids tell nothing about other employers.
    foreign = client.get(url, headers=other_employer_headers)
    assert (foreign.status_code, foreign.get_json()["message"]) == (404, "业务不存在")
    no_permission = auth(token_for(perms=("employer_info",)))
    assert client.get(url, headers=no_permission).status_code == 403
    # Ids no key can be: a Unicode digit int() refuses, and one beyond SQL INTEGER.
    missing_ones = ("/businesses/employer_change/999", "/businesses/employer_change/abc",
                    "/businesses/employer_change/²", "/businesses/employer_change/99999999999999999999",
                    f"/businesses/nothing/{request_id}")
    for missing in missing_ones:
        response = client.get(missing, headers=center_headers)
        assert response.status_code == 404
        assert response.get_json()["message"] == "业务不存在"


# -- a 10,000-row business does not grow what travels -------------------------------------------------

BULK = "bulk_test"
BULK_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Definitions_bulk"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  targetNamespace="http://hall.example/bpmn">
  <bpmn:process id="bulk_test" name="批量测试业务" isExecutable="true">
    <bpmn:startEvent id="StartEvent_bulk"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="Size" default="F_small"><bpmn:incoming>F1</bpmn:incoming>
      <bpmn:outgoing>F_large</bpmn:outgoing><bpmn:outgoing>F_small</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="Recheck" name="大批量复核"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="candidate_group" value="reviewer" /></spiffworkflow:properties>
      </bpmn:extensionElements><bpmn:incoming>F_large</bpmn:incoming>
      <bpmn:outgoing>F2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="Review" name="中心审核"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="candidate_group" value="handler" /></spiffworkflow:properties>
      </bpmn:extensionElements><bpmn:incoming>F_small</bpmn:incoming>
      <bpmn:outgoing>F3</bpmn:outgoing></bpmn:userTask>
    <bpmn:exclusiveGateway id="Decision" default="F_rejected"><bpmn:incoming>F2</bpmn:incoming>
      <bpmn:incoming>F3</bpmn:incoming><bpmn:outgoing>F_approved</bpmn:outgoing>
      <bpmn:outgoing>F_rejected</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="EndEvent_approved"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="approved" /></spiffworkflow:properties>
      </bpmn:extensionElements><bpmn:incoming>F_approved</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="EndEvent_rejected"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="outcome" value="rejected" /></spiffworkflow:properties>
      </bpmn:extensionElements><bpmn:incoming>F_rejected</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="StartEvent_bulk" targetRef="Size" />
    <bpmn:sequenceFlow id="F_large" sourceRef="Size" targetRef="Recheck">
      <bpmn:conditionExpression>large == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_small" sourceRef="Size" targetRef="Review" />
    <bpmn:sequenceFlow id="F2" sourceRef="Recheck" targetRef="Decision" />
    <bpmn:sequenceFlow id="F3" sourceRef="Review" targetRef="Decision" />
    <bpmn:sequenceFlow id="F_approved" sourceRef="Decision" targetRef="EndEvent_approved">
      <bpmn:conditionExpression>approved == True</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="F_rejected" sourceRef="Decision" targetRef="EndEvent_rejected" />
  </bpmn:process>
</bpmn:definitions>
"""


class BulkOwner:
    """A business type registered the way an owning service does, with its rows kept owner-side."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, str]]] = {}
        self.applied: list[str] = []

    def summarize(self, business_id: str) -> Summary:
        rows = self.rows[business_id]
        total = sum((Decimal(r["amount"]) for r in rows), Decimal("0"))
        return Summary(f"共{len(rows)}人，合计{total:.2f}元", len(rows), {"large": len(rows) >= 1000})

    def read_rows(self, business_id: str, page: int, per_page: int) -> Rows | None:
        rows = self.rows.get(business_id)
        if rows is None:
            return None
        return Rows(EMPLOYER_NO, rows[(page - 1) * per_page:page * per_page], len(rows))

    def apply(self, outcome: Outcome) -> None:
        self.applied.append(outcome.business_id)

    def business_type(self) -> BusinessType:
        return BusinessType(
            type=BULK, title="批量测试业务", summarize=self.summarize, read_rows=self.read_rows,
            apply=self.apply, discard=lambda outcome: None, mark_returned=lambda outcome: None,
            columns=(Column("name", "姓名"), Column("amount", "金额")), rows_caption="明细",
        )


@pytest.fixture
def bulk_owner() -> Iterator[BulkOwner]:
    owner = BulkOwner()
    employer_services.BUSINESSES.register(owner.business_type())
    try:
        yield owner
    finally:
        employer_services.BUSINESSES.unregister(BULK)


def test_a_10000_row_business_does_not_grow_the_event_the_process_or_the_task_list(
    employer_app: Flask, bulk_owner: BulkOwner, center_headers: dict[str, str]
) -> None:
    from services.workflow import definitions as workflow_definitions

    bulk_owner.rows["1"] = [{"name": "职工0", "amount": "1234.56"}]
    bulk_owner.rows["2"] = [{"name": f"职工{i}", "amount": "1234.56"} for i in range(10_000)]
    with employer_app.app_context():
        for business_id in ("1", "2"):
            employer_services.BUSINESSES.submit(
                db.session(), BULK, business_id,
                employer_no=EMPLOYER_NO, employer_name="太原市示例科技有限公司", initiator="王晓燕",
            )
        db.session().commit()
    small_event, big_event = outbox_events(employer_app)
    assert big_event["data"]["summary"] == "共10000人，合计12345600.00元"
    assert big_event["data"]["row_count"] == 10_000
    assert big_event["data"]["variables"] == {"large": True}
    sizes = [len(json.dumps(e, ensure_ascii=False).encode()) for e in (small_event, big_event)]
    assert sizes[1] - sizes[0] < 32 and sizes[1] < 1024, sizes

    workflow_app = make_app("workflow")
    with workflow_app.app_context():
        workflow_definitions.install(BULK, BULK_BPMN, "test")
        db.session().commit()
        consume(small_event)
        consume(big_event)
        states = {i.business_id: len(i.state.encode()) for i in db.session().scalars(select(ProcessInstance))}
    assert abs(states["2"] - states["1"]) < 32 and states["2"] < 3500, states
    listed = workflow_app.test_client().get("/tasks", headers=center_headers).get_json()["items"]
    by_business = {row["instance"]["business_id"]: row for row in listed}
    # The variable reached the gateway: the big business went to the extra check.
    assert by_business["1"]["task"]["name"] == "中心审核"
    assert by_business["2"]["task"]["name"] == "大批量复核"
    row_sizes = [len(json.dumps(by_business[b], ensure_ascii=False).encode()) for b in ("1", "2")]
    assert abs(row_sizes[1] - row_sizes[0]) < 64 and row_sizes[1] < 1024, row_sizes

    # The rows are read from the owner, a page at a time.
    page = employer_app.test_client().get(
        f"/businesses/{BULK}/2", query_string={"page": 50, "per_page": 200}, headers=center_headers
    ).get_json()
    assert page["total"] == 10_000 and len(page["items"]) == 200 and page["items"][0]["name"] == "职工9800"

    # The outcome goes back through the registry to the registered apply.
    task_id = by_business["2"]["task"]["id"]
    done = workflow_app.test_client().post(f"/tasks/{task_id}/complete", json={"decision": "approve"},
                                           headers=center_headers)
    assert done.status_code == 200, done.get_json()
    [approved] = [e for e in outbox_events(workflow_app) if e["type"] == "business.approved"]
    with employer_app.app_context():
        assert consume(approved) == "processed"
    assert bulk_owner.applied == ["2"]


# -- returns, ends and resubmissions ----------------------------------------------------------------

class Recorder:
    """A business type that records which of its callbacks each outcome reached."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Outcome]] = []

    def business_type(self) -> BusinessType:
        return BusinessType(
            type="recorded_test", title="记录测试业务",
            summarize=lambda business_id: Summary(f"业务{business_id}", 1, {"max_raise_pct": 10}),
            read_rows=lambda business_id, page, per_page: None,
            apply=lambda o: self.calls.append(("apply", o)),
            discard=lambda o: self.calls.append(("discard", o)),
            mark_returned=lambda o: self.calls.append(("mark_returned", o)),
            columns=(Column("name", "姓名"),),
        )


@pytest.fixture
def recorder() -> Iterator[tuple[BusinessRegistry, Recorder]]:
    registry, recorded = BusinessRegistry("recorder_owner"), Recorder()
    registry.register(recorded.business_type())
    try:
        yield registry, recorded
    finally:
        registry.unregister("recorded_test")


def test_each_outcome_reaches_its_callback_with_its_kind(recorder: tuple[BusinessRegistry, Recorder]) -> None:
    registry, recorded = recorder
    handlers = registry.outcome_handlers()
    assert set(handlers) == {"business.approved", "business.rejected", "business.returned", "business.ended"}
    base = {"business_type": "recorded_test", "business_id": "7", "owner": "recorder_owner",
            "employer_no": EMPLOYER_NO, "instance_id": 41}
    handlers["business.approved"](make_event("workflow", "business.approved",
                                             dict(base, approver="李明", opinion="同意")))
    handlers["business.rejected"](make_event("workflow", "business.rejected",
                                             dict(base, approver="李明", opinion="材料不全")))
    handlers["business.returned"](make_event("workflow", "business.returned",
                                             dict(base, approver="张复核", opinion="请补充邮编")))
    handlers["business.ended"](make_event("workflow", "business.ended",
                                          dict(base, by="employer", reason="不再办理")))
    assert [(name, o.kind, o.approved) for name, o in recorded.calls] == [
        ("apply", "approved", True), ("discard", "rejected", False),
        ("mark_returned", "returned", False), ("discard", "ended", False),
    ]
    returned, ended = recorded.calls[2][1], recorded.calls[3][1]
    assert (returned.opinion, returned.approver, returned.instance_id) == ("请补充邮编", "张复核", 41)
    assert (ended.by, ended.reason, ended.instance_id) == ("employer", "不再办理", 41)
    with pytest.raises(ValueError, match="not an outcome"):
        Outcome.from_event(make_event("workflow", "business.submitted", base))


def test_a_resubmission_carries_the_same_data_as_a_submission(
    employer_app: Flask, recorder: tuple[BusinessRegistry, Recorder]
) -> None:
    registry, _ = recorder
    with employer_app.app_context():
        kwargs = {"employer_no": EMPLOYER_NO, "employer_name": "太原市示例科技有限公司", "initiator": "王晓燕",
                  "initiator_login": "wangxy"}
        submitted = registry.submit(db.session(), "recorded_test", "7", **kwargs)
        resubmitted = registry.resubmit(db.session(), "recorded_test", "7", **kwargs)
        db.session().commit()
    assert (submitted["type"], resubmitted["type"]) == ("business.submitted", "business.resubmitted")
    assert resubmitted["data"] == submitted["data"]
    assert (submitted["data"]["initiator"], submitted["data"]["initiator_login"]) == ("王晓燕", "wangxy")
    assert resubmitted["data"]["variables"] == {"max_raise_pct": 10}
    assert resubmitted["subject"] == "recorded_test/7"
    assert [e["type"] for e in outbox_events(employer_app)] == ["business.submitted", "business.resubmitted"]
