"""基数调整 (manual ch. 4): the new figures by the effective month's policy (DOMAIN.md's amounts to the
fen), its limits at and beyond each bound either side of a policy date, only 正常 members, a member once
until its business is decided, the chief's variable, and approval, rejection and return."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from flask import Flask

from ..threads import at_once
from .adjustment_support import (
    FROZEN,
    NEXT_MONTH,
    NORMAL,
    SEALED,
    THIS_MONTH,
    TYPE,
    insert_policies,
    preview,
    set_member,
    values,
)
from .conftest import AnyDb, auth, token_for
from .member_support import BASE, add, business_ids, commit, decide, outbox_events, rows

ROWS = f"{BASE}/rosters/{TYPE}/businesses"


@pytest.fixture
def app() -> Flask:
    made = make()
    return made


def make() -> Flask:
    from .conftest import make_app

    made = make_app("member")
    insert_policies(made)
    return made


def _row(answer: Any) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.get_json()
    body = answer.get_json()
    return dict(body.get("row") or {})


def test_domain_example_to_the_fen_and_to_the_yuan(employer_headers: dict[str, str]) -> None:
    from .conftest import make_app

    member = NORMAL[0]["member_no"]
    fen = make()
    shown = _row(preview(fen, employer_headers, values(member, base="6543.21")))
    assert (shown["new_base"], shown["new_employer_amount"], shown["new_personal_amount"], shown["new_amount"]) == (
        "6543.21", "785.19", "785.19", "1570.38")
    assert (shown["name"], shown["id_number"]) == (NORMAL[0]["name"], NORMAL[0]["id_number"])
    assert shown["old_base"] == f"{NORMAL[0]['base']:.2f}" and shown["new_ratio_text"] == "12%/12%"

    yuan = make_app("member")
    insert_policies(yuan, places="1")
    shown = _row(preview(yuan, employer_headers, values(member, base="6543.21")))
    assert (shown["new_employer_amount"], shown["new_amount"]) == ("785.00", "1570.00")


def test_an_amount_gives_the_base_and_ratios_give_the_amount(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[1]["member_no"]
    by_amount = _row(preview(app, employer_headers, values(member, "amount", amount="1570.38")))
    assert by_amount["new_amount"] == "1570.38"
    assert Decimal(by_amount["new_base"]) * Decimal("0.24") == pytest.approx(Decimal("1570.38"), abs=Decimal("0.01"))
    # At 12% + 12% each part is rounded on its own: the amount is an even number of fen.
    odd = preview(app, employer_headers, values(member, "amount", amount="1000.01"))
    assert odd.status_code == 422
    assert "月缴存额1000.01元无法按缴存比例12%/12%得出，可填写1000.00元或1000.02元" in odd.get_json()["message"]

    set_member(app, member, base=Decimal("5000.00"))
    by_ratio = _row(preview(app, employer_headers, values(member, "ratio", employer_ratio="10", personal_ratio="8%")))
    assert (by_ratio["new_base"], by_ratio["new_ratio_text"], by_ratio["new_amount"], by_ratio["old_amount"]) == (
        "5000.00", "10%/8%", "900.00", "1200.00")


@pytest.mark.parametrize(("month", "figures", "refusal"), [
    (THIS_MONTH, {"base": "26952.00"}, None),
    (THIS_MONTH, {"base": "26952.01"}, "缴存基数26952.01元高于上限26952.00元"),
    (NEXT_MONTH, {"base": "26952.01"}, None),
    (NEXT_MONTH, {"base": "28512.00"}, None),
    (NEXT_MONTH, {"base": "28512.01"}, "缴存基数28512.01元高于上限28512.00元"),
    (THIS_MONTH, {"base": "1880.00"}, None),
    (THIS_MONTH, {"base": "1879.99"}, "缴存基数1879.99元低于下限1880.00元"),
    (NEXT_MONTH, {"base": "1880.00"}, "缴存基数1880.00元低于下限1980.00元"),
    (NEXT_MONTH, {"base": "1980.00"}, None),
    (THIS_MONTH, {"employer_ratio": "5", "personal_ratio": "12"}, None),
    (THIS_MONTH, {"employer_ratio": "4.99", "personal_ratio": "12"}, "单位缴存比例4.99%低于下限5%"),
    (NEXT_MONTH, {"employer_ratio": "12", "personal_ratio": "12.01"}, "个人缴存比例12.01%高于上限12%"),
])
def test_limits_at_and_beyond_each_bound_either_side_of_the_policy_date(
        app: Flask, employer_headers: dict[str, str], month: str, figures: dict[str, str],
        refusal: str | None) -> None:
    member = NORMAL[2]
    category = "base" if "base" in figures else "ratio"
    answer = preview(app, employer_headers, values(member["member_no"], category, month, **figures))
    if refusal is None:
        assert answer.status_code == 200, answer.get_json()
    else:
        assert answer.status_code == 422
        # The refusal names the member, the value and the bound.
        assert f"{member['name']}（{member['member_no']}）的{refusal}" in answer.get_json()["message"]


def test_the_amount_limit_refuses_by_the_amount(app: Flask, employer_headers: dict[str, str]) -> None:
    from .conftest import make_app

    tight = make_app("member")
    insert_policies(tight, amount_max="1200.00")
    member = NORMAL[3]["member_no"]
    assert preview(tight, employer_headers, values(member, "amount", amount="1200.00")).status_code == 200
    over = preview(tight, employer_headers, values(member, "amount", amount="1200.02"))
    assert over.status_code == 422 and "月缴存额1200.02元高于上限1200.00元" in over.get_json()["message"]


@pytest.mark.parametrize(("member", "state"), [(SEALED[0], "封存"), (FROZEN[0], "冻结")])
def test_only_a_normal_member_is_adjusted(app: Flask, employer_headers: dict[str, str], member: dict[str, Any],
                                          state: str) -> None:
    answer = add(app, employer_headers, TYPE, values(member["member_no"], base="6000"))
    assert answer.status_code == 422
    expected = f"缴存人{member['name']}当前状态为{state}，只有正常状态的缴存人可以办理基数调整"
    assert expected in answer.get_json()["message"]


def test_bad_input_names_the_field(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[4]["member_no"]
    cases = {
        "新缴存基数：应为金额": values(member, base="五千"),
        "新缴存基数：不能为空": values(member),
        "生效年月：应为有效年月": values(member, month="2026-13", base="6000"),
        "个人账号：个人账号不存在": values("100100009999", base="6000"),
        "新单位缴存比例：应为大于0且不超过100的百分数": values(member, "ratio", employer_ratio="0x",
                                                            personal_ratio="12"),
        "调整后的数值与当前相同": values(member, base=f"{NORMAL[4]['base']:.2f}"),
        "不能包含控制字符": values(member, base="6000\x00"),
    }
    for expected, entry in cases.items():
        answer = add(app, employer_headers, TYPE, entry)
        assert answer.status_code == 422 and expected in answer.get_json()["message"], (expected, answer.get_json())
    assert rows(app, employer_headers, TYPE)["total"] == 0


def test_a_member_in_the_roster_or_in_approval_is_refused_by_name(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[5]
    first = add(app, employer_headers, TYPE, values(member["member_no"], base="6000"))
    assert first.status_code == 201, first.get_json()
    again = add(app, employer_headers, TYPE, values(member["member_no"], base="6100"))
    assert again.status_code in (409, 422)
    assert f"缴存人{member['name']}（{member['member_no']}）" in again.get_json()["message"]
    assert "已提交审核但未审批的业务，不得重复提交" in again.get_json()["message"]
    assert commit(app, employer_headers, TYPE, [first.get_json()["row"]["id"]]).status_code == 201
    in_approval = add(app, employer_headers, TYPE, values(member["member_no"], base="6100"))
    assert in_approval.status_code in (409, 422) and "不得重复提交" in in_approval.get_json()["message"]
    [business_id] = business_ids(app, TYPE)
    assert decide(app, TYPE, business_id, "business.rejected", approver="中心", opinion="材料不全") == "processed"
    # Decided: the member may be adjusted again.
    assert add(app, employer_headers, TYPE, values(member["member_no"], base="6100")).status_code == 201


def test_fifty_simultaneous_entries_of_one_member_make_one_row(any_db: AnyDb) -> None:
    app = any_db.app("member", make)
    headers = [auth(token_for(login_name=f"100100001-op{i}")) for i in range(50)]
    member = NORMAL[6]["member_no"]

    def entry(index: int) -> Any:
        return add(app, headers[index], TYPE, values(member, base=f"{6000 + index}"))

    answers = at_once([partial(entry, i) for i in range(len(headers))])
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 1, [a.get_json() for a in answers if a.status_code != 201][:3]
    assert all(c in (409, 422) for c in codes if c != 201)
    assert all("不得重复提交" in a.get_json()["message"] for a in answers if a.status_code != 201)
    assert rows(app, headers[0], TYPE)["total"] == 1


def _business(app: Flask, headers: dict[str, str], raises: dict[str, str]) -> str:
    ids = [_row(add(app, headers, TYPE, values(m, base=b)))["id"] for m, b in raises.items()]
    assert commit(app, headers, TYPE, ids).status_code == 201
    return business_ids(app, TYPE)[-1]


def _variables(app: Flask, business_id: str) -> dict[str, Any]:
    [submitted] = [e for e in outbox_events(app) if e["type"] in ("business.submitted", "business.resubmitted")
                   and e["data"]["business_id"] == business_id][-1:]
    return dict(submitted["data"]["variables"])


def test_the_chief_variable_is_the_largest_raise_rounded_up(app: Flask, employer_headers: dict[str, str]) -> None:
    first, second, third = (m["member_no"] for m in NORMAL[7:10])
    for member in (first, second, third):
        set_member(app, member, base=Decimal("4000.00"))
    small = _business(app, employer_headers, {first: "4400", second: "3900"})  # +10%, -2.5%
    assert _variables(app, small)["max_raise_pct"] == 10
    large = _business(app, employer_headers, {third: "6000.40"})  # +50.01%: above a 50% threshold
    assert _variables(app, large)["max_raise_pct"] == 51


def _account(app: Flask, headers: dict[str, str], member_no: str) -> dict[str, Any]:
    page = app.test_client().get(f"{BASE}/queries/member-accounts?member_no={member_no}", headers=headers)
    return dict(page.get_json()["items"][0])


def test_approval_applies_figures_terms_history_event_and_message(app: Flask, employer_headers: dict[str, str]) -> None:
    from hall_common import business_types, db
    from services.member.models import Contribution, Member

    member = NORMAL[10]
    set_member(app, member["member_no"], base=Decimal("4000.00"))
    business_id = _business(app, employer_headers, {member["member_no"]: "8000"})
    assert Decimal(_account(app, employer_headers, member["member_no"])["base"]) == Decimal("4000.00")
    assert decide(app, TYPE, business_id, approver="负责人", opinion="同意") == "processed"
    account = _account(app, employer_headers, member["member_no"])
    assert (account["base"], account["monthly_amount"]) == ("8000.00", "1920.00")
    with app.app_context():
        stored = db.session().get(Member, member["member_no"])
        assert stored is not None and (stored.employer_amount, stored.personal_amount) == (
            Decimal("960.00"), Decimal("960.00"))
        terms = [(c.from_month, c.base, c.employer_amount + c.personal_amount, c.business_id)
                 for c in db.session().query(Contribution).filter_by(member_no=member["member_no"])]
        assert terms == [(THIS_MONTH, Decimal("8000.00"), Decimal("1920.00"), int(business_id))]
    changes = app.test_client().get(f"{BASE}/queries/member-changes?member_no={member['member_no']}",
                                    headers=employer_headers).get_json()["items"]
    assert [(c["label"], c["old_value"], c["new_value"]) for c in changes] == [
        ("缴存基数", "4000.00", "8000.00"), ("月缴存额", "960.00", "1920.00")]
    [event] = [e for e in outbox_events(app) if e["type"] == "member.base_adjusted"]
    assert (event["data"]["applied"], event["data"]["summary"]) == (1, "1人")
    message = business_types.resolve(TYPE).message("approved", {**event["data"], "employer_name": "甲单位"})
    assert message.startswith("尊敬的甲单位，您已完成办理缴存人基数变更（业务编号") and message.endswith("！")
    # Delivered again: applied once.
    assert decide(app, TYPE, business_id, approver="负责人", opinion="同意") in ("processed", "duplicate", "ignored")
    assert len([e for e in outbox_events(app) if e["type"] == "member.base_adjusted"]) == 1


def test_a_member_sealed_before_approval_is_marked_not_adjusted(app: Flask, employer_headers: dict[str, str]) -> None:
    adjusted, sealed = NORMAL[11], NORMAL[12]
    business_id = _business(app, employer_headers, {adjusted["member_no"]: "7000", sealed["member_no"]: "7000"})
    set_member(app, sealed["member_no"], status="02")
    assert decide(app, TYPE, business_id) == "processed"
    assert _account(app, employer_headers, adjusted["member_no"])["base"] == "7000.00"
    assert _account(app, employer_headers, sealed["member_no"])["base"] == f"{sealed['base']:.2f}"
    shown = app.test_client().get(f"/businesses/{TYPE}/{business_id}", headers=employer_headers).get_json()
    assert "未调整：缴存人状态已变化" in str(shown)


def test_a_rejection_applies_nothing(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[13]
    business_id = _business(app, employer_headers, {member["member_no"]: "9000"})
    assert decide(app, TYPE, business_id, "business.rejected", approver="中心", opinion="否") == "processed"
    assert _account(app, employer_headers, member["member_no"])["base"] == f"{member['base']:.2f}"
    assert not [e for e in outbox_events(app) if e["type"] == "member.base_adjusted"]


def test_a_return_is_corrected_and_resubmitted_with_its_new_raise(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[14]["member_no"]
    set_member(app, member, base=Decimal("4000.00"))
    business_id = _business(app, employer_headers, {member: "8000"})
    assert _variables(app, business_id)["max_raise_pct"] == 100
    assert decide(app, TYPE, business_id, "business.returned", approver="经办", opinion="请核对") == "processed"
    client = app.test_client()
    listed = client.get(f"{ROWS}/{business_id}/rows", headers=employer_headers).get_json()
    row = listed["items"][0]
    assert row["values"] == {"member_no": member, "category": "base", "base": "8000.00", "amount": "",
                             "employer_ratio": "", "personal_ratio": "", "effective_month": THIS_MONTH}
    fixed = client.put(f"{ROWS}/{business_id}/rows/{row['id']}", headers=employer_headers,
                       json={"values": {**row["values"], "base": "4400"}})
    assert fixed.status_code == 200 and fixed.get_json()["row"]["new_amount"] == "1056.00", fixed.get_json()
    assert client.post(f"/businesses/{TYPE}/{business_id}/resubmit", headers=employer_headers).status_code == 200
    assert _variables(app, business_id)["max_raise_pct"] == 10
    assert decide(app, TYPE, business_id) == "processed"
    assert _account(app, employer_headers, member)["base"] == "4400.00"


def test_an_effective_month_before_the_members_current_terms_is_refused(app: Flask,
                                                                         employer_headers: dict[str, str]) -> None:
    from hall_common import db
    from services.member.models import Contribution

    member = NORMAL[16]
    set_member(app, member["member_no"], base=Decimal("4000.00"))
    with app.app_context():  # terms already approved from next month on
        db.session().add(Contribution(
            employer_no=member["employer_no"], member_no=member["member_no"], from_month=NEXT_MONTH,
            base=Decimal("4000.00"), employer_ratio=Decimal("0.12"), personal_ratio=Decimal("0.12"),
            employer_amount=Decimal("480.00"), personal_amount=Decimal("480.00"), business_type=TYPE))
        db.session().commit()
    early = preview(app, employer_headers, values(member["member_no"], base="5000"))
    assert early.status_code == 422
    assert (f"缴存人{member['name']}（{member['member_no']}）的生效年月{THIS_MONTH}早于其现行缴存基数的起始年月"
            f"{NEXT_MONTH}") in early.get_json()["message"]
    later = _row(preview(app, employer_headers, values(member["member_no"], month=NEXT_MONTH, base="5000")))
    assert (later["new_base"], later["effective_month"]) == ("5000.00", NEXT_MONTH)
