"""基数调整 through the real stack (gunicorn services, Redis, the Celery event workers, SpiffWorkflow on
the shipped BPMN): a small raise approved by the handler alone, a large one by the chief too, a rejection
that applies nothing, and a return corrected in the roster and resubmitted into the same process. The
members are registered here first, so whatever other tests do to the demo members does not matter."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stdnum.cn import ric

from deploy.stack import Stack

from .helpers import EMPLOYER, Api, center_api, employer_api, messages, wait_for

ROSTERS = f"/employers/{EMPLOYER}/rosters"
TYPE = "base_adjustment"


def _person(index: int) -> str:
    body = f"130102{date(1982, 3, 1) + timedelta(days=index):%Y%m%d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _register(employer: Api, names: list[str], base: str) -> dict[str, str]:
    """Open these members (the registration's default process has no user task): name -> member number."""
    ids = {}
    for index, name in enumerate(names):
        ids[name] = _person(500 + index + sum(map(ord, name)) % 400)
        added = employer.call("POST", "member", f"{ROSTERS}/member_registration/rows", json={"values": {
            "name": name, "id_number": ids[name], "base": base, "first_month": date.today().strftime("%Y%m"),
            "ratio": "12"}})
        assert added.status_code == 201, added.text
    committed = employer.call("POST", "member", f"{ROSTERS}/member_registration/commit", json={"row_ids": []})
    assert committed.status_code == 201, committed.text

    def opened() -> dict[str, str] | None:
        found = {}
        for name, id_number in ids.items():
            hits = employer.get("member", f"/employers/{EMPLOYER}/members/search", q=id_number)
            if not hits:
                return None
            found[name] = hits[0]["member_no"]
        return found

    return wait_for(opened, timeout=60, what="the members opened")


def _account(employer: Api, member_no: str) -> dict[str, Any]:
    items = employer.get("member", f"/employers/{EMPLOYER}/queries/member-accounts", member_no=member_no)["items"]
    return dict(items[0])


def _adjust(employer: Api, raises: dict[str, str]) -> str:
    """One roster of base raises (member number -> new base), 保存 as one business."""
    month = date.today().strftime("%Y%m")
    ids = []
    for member_no, base in raises.items():
        added = employer.call("POST", "member", f"{ROSTERS}/{TYPE}/rows", json={"values": {
            "member_no": member_no, "category": "base", "base": base, "effective_month": month}})
        assert added.status_code == 201, added.text
        ids.append(added.json()["row"]["id"])
    committed = employer.call("POST", "member", f"{ROSTERS}/{TYPE}/commit", json={"row_ids": ids})
    assert committed.status_code == 201, committed.text
    return str(committed.json()["business_id"])


def _task(center: Api, business_id: str, name: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for row in center.get("workflow", "/tasks", status="open", per_page=100)["items"]:
            instance = row["instance"]
            if instance["business_type"] == TYPE and instance["business_id"] == business_id \
                    and row["task"]["name"] == name:
                return dict(row)
        return None

    return wait_for(find, what=f"the task {name} of {business_id}")


def _decide(center: Api, task: dict[str, Any], decision: str, opinion: str) -> None:
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                       json={"decision": decision, "opinion": opinion})
    assert done.status_code == 200, done.text


def _message(employer: Api, business_id: str) -> str:
    found = wait_for(lambda: [m for m in messages(employer) if m.get("business_id") == business_id
                              and m.get("business_type") == TYPE], what=f"the message of {business_id}")
    return str(found[0]["content"])


def test_a_small_raise_is_approved_by_the_handler_and_a_large_one_by_the_chief_too(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    members = _register(employer, ["调基甲", "调基乙", "调基丙"], "4000")

    small = _adjust(employer, {members["调基甲"]: "4400", members["调基乙"]: "4321.09"})
    _decide(center, _task(center, small, "经办审核"), "approve", "同意")
    assert "您已完成办理缴存人基数变更" in _message(employer, small)
    account = _account(employer, members["调基乙"])
    # 4,321.09 at 12% + 12%: 518.53 + 518.53 (518.5308 each, HALF_UP to the fen).
    assert (Decimal(account["base"]), Decimal(account["monthly_amount"])) == (Decimal("4321.09"), Decimal("1037.06"))

    large = _adjust(employer, {members["调基丙"]: "8000"})  # +100%: above the chief's 50% threshold
    _decide(center, _task(center, large, "经办审核"), "approve", "同意")
    assert Decimal(_account(employer, members["调基丙"])["base"]) == Decimal("4000.00")  # not yet: the chief
    _decide(center, _task(center, large, "负责人审批"), "approve", "同意大幅调整")
    _message(employer, large)
    assert Decimal(_account(employer, members["调基丙"])["monthly_amount"]) == Decimal("1920.00")
    changes = employer.get("member", f"/employers/{EMPLOYER}/queries/member-changes",
                           member_no=members["调基丙"])["items"]
    assert any(c["old_value"] == "4000.00" and c["new_value"] == "8000.00" for c in changes), changes


def test_a_rejection_applies_nothing_and_a_return_is_corrected_and_resubmitted(stack: Stack) -> None:
    employer, center = employer_api(stack), center_api(stack)
    members = _register(employer, ["调基丁", "调基戊"], "5000")

    rejected = _adjust(employer, {members["调基丁"]: "5200"})
    _decide(center, _task(center, rejected, "经办审核"), "reject", "基数证明材料不全")
    assert "基数证明材料不全" in _message(employer, rejected)
    assert Decimal(_account(employer, members["调基丁"])["base"]) == Decimal("5000.00")

    returned = _adjust(employer, {members["调基戊"]: "5300"})
    _decide(center, _task(center, returned, "经办审核"), "return", "请核对调整后基数")
    wait_for(lambda: [m for m in messages(employer, "todo") if m.get("business_id") == returned] or None,
             what="the returned business in 待办")
    # While returned it is still the member's business: entering the member again is refused.
    again = employer.call("POST", "member", f"{ROSTERS}/{TYPE}/rows", json={"values": {
        "member_no": members["调基戊"], "category": "base", "base": "5400",
        "effective_month": date.today().strftime("%Y%m")}})
    assert again.status_code in (409, 422) and "不得重复提交" in again.text, again.text
    resubmitted = employer.call("POST", "member", f"/businesses/{TYPE}/{returned}/resubmit")
    assert resubmitted.status_code in (200, 201, 202), resubmitted.text
    _decide(center, _task(center, returned, "经办审核"), "approve", "同意")
    _message(employer, returned)
    assert Decimal(_account(employer, members["调基戊"])["base"]) == Decimal("5300.00")
