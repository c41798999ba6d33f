"""Conditions on process data: the base adjustment asks the chief (负责人) as a second step when a row
raises a base by more than the threshold held in the process; a resubmission decides afresh."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from services.workflow import definitions

from .conftest import bpmn, center, complete, post, resubmit, submit, tasks

HANDLER_ONLY = ("handler",)
CHIEF_ONLY = ("chief",)


@pytest.fixture
def base_app(app: Flask) -> Flask:
    with app.app_context():
        definitions.install("base_adjustment", bpmn("base_adjustment.bpmn"), "test")
        from hall_common import db

        db.session().commit()
    return app


def handler() -> dict[str, str]:
    return center("zhang", "经办张三", groups=HANDLER_ONLY, admin=False)


def chief() -> dict[str, str]:
    return center("boss", "负责人刘总", groups=CHIEF_ONLY, admin=False)


def start(app: Flask, raise_pct: int, business_id: str = "1") -> None:
    assert submit(app, business_id, "base_adjustment", variables={"max_raise_pct": raise_pct}) == "processed"


def only_task(app: Flask, headers: dict[str, str]) -> dict[str, Any]:
    [row] = tasks(app, headers)
    return row


def test_a_raise_within_the_threshold_ends_after_the_handler(base_app: Flask) -> None:
    start(base_app, 50)
    done = complete(base_app, only_task(base_app, handler())["task"]["id"], "approve", "同意", handler())
    assert done.get_json()["instance"]["outcome"] == "approved"
    assert tasks(base_app, chief()) == []


@pytest.mark.parametrize(("decision", "outcome"), [("approve", "approved"), ("reject", "rejected")])
def test_a_raise_above_the_threshold_goes_to_the_chief_who_decides(
    base_app: Flask, decision: str, outcome: str
) -> None:
    start(base_app, 51)
    assert tasks(base_app, chief()) == []  # the chief sees nothing until the handler approved
    first = complete(base_app, only_task(base_app, handler())["task"]["id"], "approve", "同意", handler())
    assert first.get_json()["instance"]["status"] == "running"
    row = only_task(base_app, chief())
    assert (row["task"]["name"], row["task"]["candidate_group"]) == ("负责人审批", "chief")
    assert post(base_app, f"/tasks/{row['task']['id']}/claim", handler()).status_code == 403
    done = complete(base_app, row["task"]["id"], decision, "负责人意见", chief())
    assert done.get_json()["instance"]["outcome"] == outcome
    view = base_app.test_client().get(f"/instances/{row['instance']['id']}/path", headers=center()).get_json()
    assert "F_to_chief" in view["taken_flows"] and "F_handler_approved" not in view["taken_flows"]
    assert view["completed"][:3] == ["StartEvent_submitted", "Script_threshold", "Task_handler"]


def test_a_handler_rejection_never_reaches_the_chief(base_app: Flask) -> None:
    start(base_app, 90)
    done = complete(base_app, only_task(base_app, handler())["task"]["id"], "reject", "不符合条件", handler())
    assert done.get_json()["instance"]["outcome"] == "rejected"
    assert tasks(base_app, chief()) == []


def test_the_chief_returns_and_the_corrected_business_starts_again_at_the_handler(base_app: Flask) -> None:
    start(base_app, 80)
    complete(base_app, only_task(base_app, handler())["task"]["id"], "approve", "同意", handler())
    returned = complete(base_app, only_task(base_app, chief())["task"]["id"], "return", "调幅过大", chief())
    assert returned.get_json()["instance"]["status"] == "returned"
    # Corrected down to 20%: back to the handler, whose approval now ends the process without the chief.
    assert resubmit(base_app, "1", "base_adjustment", variables={"max_raise_pct": 20}) == "processed"
    assert tasks(base_app, chief()) == []
    row = only_task(base_app, handler())
    assert row["task"]["bpmn_id"] == "Task_handler"
    done = complete(base_app, row["task"]["id"], "approve", "同意", handler())
    assert done.get_json()["instance"]["outcome"] == "approved"
    view = base_app.test_client().get(f"/instances/{row['instance']['id']}/path", headers=center()).get_json()
    assert "F_handler_approved" in view["taken_flows"] and "F_to_chief" not in view["taken_flows"]
    names = [(s["name"], s["decision"]) for s in view["steps"]]
    assert names == [("提交", "submit"), ("经办审核", "approve"), ("负责人审批", "return"), ("重新提交", "resubmit"),
                     ("经办审核", "approve"), ("审批通过", "approved")]
