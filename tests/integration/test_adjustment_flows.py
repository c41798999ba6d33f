"""基数调整 through the real stack (gunicorn services, Redis, the Celery event workers, SpiffWorkflow on
the shipped BPMN): a small raise approved by the handler alone, a large one by the chief too, a rejection
that applies nothing, and a return corrected in the roster and resubmitted into the same process. The
members are registered here first, so whatever other tests do to the demo members does not matter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from deploy.stack import Stack

from .helpers import (
    EMPLOYER,
    ROSTERS,
    Api,
    adjust_bases,
    center_api,
    decide,
    employer_api,
    messages,
    register_members,
    task_of,
    wait_for,
)

TYPE = "base_adjustment"


def _account(employer: Api, member_no: str) -> dict[str, Any]:
    items = employer.get("member", f"/employers/{EMPLOYER}/queries/member-accounts", member_no=member_no)["items"]
    return dict(items[0])


def _message(employer: Api, business_id: str) -> str:
    found = wait_for(lambda: [m for m in messages(employer) if m.get("business_id") == business_id
                              and m.get("business_type") == TYPE], what=f"the message of {business_id}")
    return str(found[0]["content"])


def test_a_small_raise_is_approved_by_the_handler_and_a_large_one_by_the_chief_too(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    members = register_members(employer, ["调基甲", "调基乙", "调基丙"], "4000")

    small = adjust_bases(employer, {members["调基甲"]: "4400", members["调基乙"]: "4321.09"})
    decide(center, task_of(center, TYPE, small, "经办审核"), "approve", "同意")
    assert "您已完成办理缴存人基数变更" in _message(employer, small)
    account = _account(employer, members["调基乙"])
    # 4,321.09 at 12% + 12%: 518.53 + 518.53 (518.5308 each, HALF_UP to the fen).
    assert (Decimal(account["base"]), Decimal(account["monthly_amount"])) == (Decimal("4321.09"), Decimal("1037.06"))

    large = adjust_bases(employer, {members["调基丙"]: "8000"})  # +100%: above the chief's 50% threshold
    decide(center, task_of(center, TYPE, large, "经办审核"), "approve", "同意")
    assert Decimal(_account(employer, members["调基丙"])["base"]) == Decimal("4000.00")  # not yet: the chief
    decide(center, task_of(center, TYPE, large, "负责人审批"), "approve", "同意大幅调整")
    _message(employer, large)
    assert Decimal(_account(employer, members["调基丙"])["monthly_amount"]) == Decimal("1920.00")
    changes = employer.get("member", f"/employers/{EMPLOYER}/queries/member-changes",
                           member_no=members["调基丙"])["items"]
    assert any(c["old_value"] == "4000.00" and c["new_value"] == "8000.00" for c in changes), changes


def test_a_rejection_applies_nothing_and_a_return_is_corrected_and_resubmitted(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    members = register_members(employer, ["调基丁", "调基戊"], "5000")

    rejected = adjust_bases(employer, {members["调基丁"]: "5200"})
    decide(center, task_of(center, TYPE, rejected, "经办审核"), "reject", "基数证明材料不全")
    assert "基数证明材料不全" in _message(employer, rejected)
    assert Decimal(_account(employer, members["调基丁"])["base"]) == Decimal("5000.00")

    returned = adjust_bases(employer, {members["调基戊"]: "5300"})
    first = task_of(center, TYPE, returned, "经办审核")
    decide(center, first, "return", "请核对调整后基数")
    wait_for(lambda: [m for m in messages(employer, "todo") if m.get("business_id") == returned] or None,
             what="the returned business in 待办")
    # While returned it is still the member's business: entering the member again is refused.
    again = employer.call("POST", "member", f"{ROSTERS}/{TYPE}/rows", json={"values": {
        "member_no": members["调基戊"], "category": "base", "base": "5400",
        "effective_month": date.today().strftime("%Y%m")}})
    assert again.status_code in (409, 422) and "不得重复提交" in again.text, again.text
    # The operator corrects the row in the returned roster (once the owner shows it returned: notify's
    # 待办 may come first) and 重新提交 sends it back into the same process instance.
    rows_path = f"{ROSTERS}/{TYPE}/businesses/{returned}/rows"

    def correctable() -> dict[str, Any] | None:
        page = employer.get("member", rows_path)
        return dict(page) if page["correctable"] else None

    listed = wait_for(correctable, what="the business returned at its owner")
    [row] = listed["items"]
    corrected = employer.call("PUT", "member", f"{rows_path}/{row['id']}",
                              json={"values": {**row["values"], "base": "5350"}})
    assert corrected.status_code == 200 and corrected.json()["row"]["new_base"] == "5350.00", corrected.text
    resubmitted = employer.call("POST", "member", f"/businesses/{TYPE}/{returned}/resubmit")
    assert resubmitted.status_code in (200, 201, 202), resubmitted.text

    def next_review() -> dict[str, Any] | None:
        task = task_of(center, TYPE, returned, "经办审核")
        return task if task["task"]["id"] != first["task"]["id"] else None

    review = wait_for(next_review, what="the review task of the resubmitted business")
    assert review["instance"]["id"] == first["instance"]["id"]  # the same process, not a new one
    decide(center, review, "approve", "同意")
    _message(employer, returned)
    assert Decimal(_account(employer, members["调基戊"])["base"]) == Decimal("5350.00")
