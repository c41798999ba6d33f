"""补缴 (manual ch. 5): the roster's entry and checks, the import, 提交 refused on a shortfall, and the
approval moving the total from the unallocated amount to the members' accounts as a type-02 booking."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from flask import Flask
from openpyxl import load_workbook

from hall_common import business_types

from .conftest import auth, make_app, token_for
from .member_support import filled
from .supplement_support import (
    BASE,
    CLOSED,
    NORMAL,
    OTHERS,
    SEALED,
    TYPE,
    XLSX,
    account,
    add,
    business_ids,
    commit,
    decide,
    entry,
    events,
    fund,
    journal,
    last_month,
    member_balances,
    members_total,
    rows,
    spend,
    with_members,
)


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Flask:
    with_members(monkeypatch)
    return make_app("payment")


def test_the_form_names_the_manuals_fields_and_the_entry_answers_with_the_amount(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    form = app.test_client().get(f"/rosters/{TYPE}/form", headers=employer_headers).get_json()
    assert (form["title"], form["entry_label"], form["commit_label"]) == ("补缴", "录入", "提交")
    assert [f["key"] for f in form["fields"]] == ["member_no", "reason", "month", "amount"]
    assert form["fields"][0]["kind"] == "member"
    assert [c["label"] for c in form["fields"][1]["choices"]] == [
        "漏缴补缴", "少缴补缴", "欠缴单位补缴", "外省市转入补缴", "错缴更正补缴", "特殊补缴"]
    member = NORMAL[0]
    answer = add(app, employer_headers, entry(member["member_no"], "202501", "1,234.5", "少缴补缴"))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["message"] == "录入成功，补缴金额1234.50元"
    [row] = rows(app, employer_headers)["items"]
    # The member's name and ID echoed from the member service, the amount with two places.
    assert (row["member_no"], row["name"], row["id_number"]) == (member["member_no"], member["name"],
                                                               member["id_number"])
    assert (row["reason"], row["month"], row["amount"]) == ("少缴补缴", "202501", "1234.50")
    # A sealed member may still owe months from before the seal.
    assert add(app, employer_headers, entry(SEALED[0]["member_no"], "202502", "10")).status_code == 201


@pytest.mark.parametrize(("values", "field", "reason"), [
    (entry(OTHERS[0]["member_no"], "202501", "100"), "member_no", "个人账号不存在或不属于本单位"),
    (entry("999999999999", "202501", "100"), "member_no", "个人账号不存在或不属于本单位"),
    (entry(CLOSED[0]["member_no"], "202501", "100"), "member_no", "不能办理补缴"),
    (entry(NORMAL[1]["member_no"], "202501", "0"), "amount", "应在0.01至9999999.99元之间"),
    (entry(NORMAL[1]["member_no"], "202501", "-5"), "amount", "应为金额"),
    (entry(NORMAL[1]["member_no"], "202501", "10.005"), "amount", "应为金额（最多两位小数）"),
    (entry(NORMAL[1]["member_no"], "202501", "abc"), "amount", "应为金额"),
    (entry(NORMAL[1]["member_no"], "209901", "100"), "month", "应在199101至"),
    (entry(NORMAL[1]["member_no"], "202513", "100"), "month", "应为有效年月"),
    (entry(NORMAL[1]["member_no"], "201001", "100"), "month", "早于缴存人"),
    (entry(NORMAL[1]["member_no"], "202501", "100", reason="随便补缴"), "reason", "应为漏缴补缴"),
    (entry(NORMAL[1]["member_no"], "202501", "100", reason="漏缴\x00补缴"), "reason", "不能包含控制字符"),
    ({"member_no": NORMAL[1]["member_no"], "reason": "漏缴补缴", "month": "202501"}, "amount", "不能为空"),
])
def test_a_bad_row_is_refused_naming_its_field_and_nothing_is_stored(
    app: Flask, employer_headers: dict[str, str], values: dict[str, str], field: str, reason: str
) -> None:
    answer = add(app, employer_headers, values)
    assert answer.status_code == 422, answer.get_json()
    refused = answer.get_json()
    per_field = refused["errors"]["json"]
    assert reason in (per_field.get("values") or per_field)[field][0] and reason in refused["message"]
    assert rows(app, employer_headers)["total"] == 0


def test_one_member_month_once_in_the_roster_and_deleted_with_the_row(
    app: Flask, employer_headers: dict[str, str], other_employer_headers: dict[str, str]
) -> None:
    member = NORMAL[2]
    assert add(app, employer_headers, entry(member["member_no"], "202503", "100")).status_code == 201
    again = add(app, employer_headers, entry(member["member_no"], "202503", "50", "少缴补缴"))
    assert again.status_code == 422
    assert again.get_json()["errors"]["json"]["member_no"][0] == (
        f"缴存人{member['name']}（{member['member_no']}）2025年03月的补缴已在清册中或已提交审核，不得重复录入")
    assert add(app, employer_headers, entry(member["member_no"], "202504", "100")).status_code == 201
    [first, _second] = rows(app, employer_headers)["items"]
    client = app.test_client()
    # Another employer's operator finds no such row; the owner deletes it (删除 → 确定).
    assert client.delete(f"/employers/200200002/rosters/{TYPE}/rows/{first['id']}",
                         headers=other_employer_headers).status_code == 404
    assert client.delete(f"{BASE}/rosters/{TYPE}/rows/{first['id']}", headers=other_employer_headers).status_code == 403
    assert client.delete(f"{BASE}/rosters/{TYPE}/rows/{first['id']}", headers=employer_headers).status_code == 200
    assert rows(app, employer_headers)["total"] == 1
    assert add(app, employer_headers, entry(member["member_no"], "202503", "100")).status_code == 201
    # An account without the 补缴 permission neither reads nor writes the roster.
    no_right = auth(token_for(perms=("member_query",)))
    assert client.get(f"{BASE}/rosters/{TYPE}", headers=no_right).status_code == 403
    assert add(app, no_right, entry(NORMAL[3]["member_no"], "202503", "100")).status_code == 403


def test_the_import_checks_every_row_and_adds_the_good_ones_when_told(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    client = app.test_client()
    template = client.get(f"{BASE}/rosters/{TYPE}/template", headers=employer_headers)
    assert template.status_code == 200
    sheet = load_workbook(io.BytesIO(template.data)).worksheets[0]
    assert [c.value for c in sheet[1]] == ["个人账号", "姓名", "证件号码", "补缴原因", "补缴年月", "补缴金额"]
    a, b = NORMAL[4], NORMAL[5]
    content = filled(template.data, [
        [a["member_no"], a["name"], a["id_number"], "漏缴补缴", "202501", "300.00"],
        [b["member_no"], "", "", "欠缴单位补缴", "202502", 150.5],
        [b["member_no"], "", "", "少缴补缴", "202502", "20"],  # the same member and month again
        [a["member_no"], "别人", "", "漏缴补缴", "202502", "10"],
        [OTHERS[0]["member_no"], "", "", "漏缴补缴", "202502", "10"],
    ])
    found = client.post(f"{BASE}/rosters/{TYPE}/imports?file_name=bu.xlsx", data=content,
                        headers={**employer_headers, "Content-Type": XLSX}).get_json()["import"]
    assert (found["status"], found["good"], found["bad"]) == ("checked", 2, 3)
    errors = {(e["row"], e["field"]): e["reason"] for e in found["errors"]}
    assert errors[(4, "个人账号")] == "与第3行重复"
    assert errors[(5, "姓名")] == f"与个人账号{a['member_no']}的姓名（{a['name']}）不符"
    assert errors[(6, "个人账号")] == "个人账号不存在或不属于本单位"
    assert rows(app, employer_headers)["total"] == 0  # nothing added from a file with errors until told
    accepted = client.post(f"{BASE}/imports/{found['id']}/accept", headers=employer_headers)
    assert accepted.get_json()["import"]["status"] == "added"
    listed = {(r["member_no"], r["month"]): r["amount"] for r in rows(app, employer_headers)["items"]}
    assert listed == {(a["member_no"], "202501"): "300.00", (b["member_no"], "202502"): "150.50"}


def test_submit_is_refused_naming_the_shortfall_and_stores_nothing(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    fund(app, "100.00")
    add(app, employer_headers, entry(NORMAL[6]["member_no"], "202501", "80"))
    add(app, employer_headers, entry(NORMAL[7]["member_no"], "202501", "70.5"))
    refused = commit(app, employer_headers)
    assert refused.status_code == 422
    assert refused.get_json()["message"] == "未分配金额不足：需150.50元，现有100.00元，差额50.50元"
    assert business_ids(app) == [] and rows(app, employer_headers)["total"] == 2
    fund(app, "50.50", source="receipt:more")
    answer = commit(app, employer_headers)
    assert answer.status_code == 201
    assert answer.get_json()["message"] == "补缴清册已提交中心审核，审批结果将以消息通知"
    assert len(business_ids(app)) == 1 and rows(app, employer_headers)["total"] == 0


def test_approval_books_type_02_from_the_unallocated_amount_to_the_members_once(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    a, b = NORMAL[8], NORMAL[9]
    fund(app, "20000.00")
    before_balance, _ = account(app)
    before_members = member_balances(app, [a["member_no"], b["member_no"]])
    add(app, employer_headers, entry(a["member_no"], "202501", "600.00"))
    add(app, employer_headers, entry(a["member_no"], "202502", "600.00"))
    add(app, employer_headers, entry(b["member_no"], last_month(), "1234.56", "少缴补缴"))
    assert commit(app, employer_headers).status_code == 201
    [business_id] = business_ids(app)
    assert decide(app, business_id, event_id="approved-once") == "processed"
    assert decide(app, business_id, event_id="approved-once") == "duplicate"  # the same event redelivered
    balance, unallocated = account(app)
    assert unallocated == Decimal("20000.00") - Decimal("2434.56")
    assert balance == before_balance + Decimal("2434.56") == members_total(app)
    after = member_balances(app, [a["member_no"], b["member_no"]])
    assert after[a["member_no"]] - before_members[a["member_no"]] == Decimal("1200.00")
    assert after[b["member_no"]] - before_members[b["member_no"]] == Decimal("1234.56")
    [(booked, lines)] = journal(app)
    assert (booked.detail_type, booked.amount, booked.interest, booked.headcount) == ("02", Decimal("2434.56"),
                                                                                     Decimal("0.00"), 2)
    assert booked.summary.startswith("补缴 2025年01月至") and booked.source == f"supplement:{business_id}"
    assert [(line.member_no, line.amount) for line in lines] == [
        (a["member_no"], Decimal("600.00")), (a["member_no"], Decimal("600.00")), (b["member_no"], Decimal("1234.56"))]
    [told] = events(app, "payment.supplemented")
    assert (told["amount"], told["serial_no"], told["applied"]) == ("2,434.56", booked.serial_no, 3)
    info = business_types.resolve(TYPE)
    assert info.message("approved", told) == (
        f"尊敬的{told['employer_name']}，您已完成办理补缴（业务编号{business_id}，笔数：3笔），补缴金额2,434.56元"
        "已由未分配金额转入缴存人账户！")
    # The same approval delivered again (another event id): nothing books twice.
    assert decide(app, business_id) == "processed"
    assert len(journal(app)) == 1 and account(app)[1] == unallocated
    # A month paid is paid once: refused in a new roster, naming the member and the month.
    again = add(app, employer_headers, entry(a["member_no"], "202501", "1.00"))
    assert again.status_code == 422
    assert again.get_json()["errors"]["json"]["month"] == [
        f"缴存人{a['name']}（{a['member_no']}）2025年01月已补缴，同一缴存人同一月份只能补缴一次"]


def test_approval_after_the_money_went_books_nothing_and_tells_the_shortfall(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    fund(app, "500.00")
    add(app, employer_headers, entry(NORMAL[10]["member_no"], "202501", "400.00"))
    assert commit(app, employer_headers).status_code == 201
    [business_id] = business_ids(app)
    spend(app, "300.00", "bill-pay:test")  # a bill paid from it while the 补缴 was in approval
    before = account(app)
    assert decide(app, business_id) == "processed"
    assert account(app) == before == (before[0], Decimal("200.00"))
    assert journal(app) == []
    [told] = events(app, "payment.supplement_failed")
    assert told["reason"] == "未分配金额不足：需400.00元，现有200.00元，差额200.00元"
    text = business_types.resolve(TYPE).message("failed", told)
    assert "已审核通过，但未分配金额不足：需400.00元，现有200.00元，差额200.00元，未能入账" in text
    rows_read = app.test_client().get(f"/businesses/{TYPE}/{business_id}", headers=employer_headers).get_json()
    assert rows_read["items"][0]["result"] == "未入账：未分配金额不足：需400.00元，现有200.00元，差额200.00元"
    # Not paid: the member's month may be filed again.
    assert add(app, employer_headers, entry(NORMAL[10]["member_no"], "202501", "400.00")).status_code == 201


def test_a_rejection_books_nothing_and_releases_the_months(app: Flask, employer_headers: dict[str, str]) -> None:
    fund(app, "500.00")
    member = NORMAL[11]
    add(app, employer_headers, entry(member["member_no"], "202501", "400.00"))
    commit(app, employer_headers)
    # While in approval the month is held.
    held = add(app, employer_headers, entry(member["member_no"], "202501", "1"))
    assert held.status_code == 422 and "已在清册中或已提交审核" in held.get_json()["message"]
    [business_id] = business_ids(app)
    assert decide(app, business_id, "business.rejected") == "processed"
    assert account(app)[1] == Decimal("500.00") and journal(app) == []
    assert events(app, "payment.supplemented") == events(app, "payment.supplement_failed") == []
    assert add(app, employer_headers, entry(member["member_no"], "202501", "1")).status_code == 201


def test_the_member_lookup_serves_the_member_read_token_only(monkeypatch: pytest.MonkeyPatch) -> None:
    member_app = make_app("member")
    client = member_app.test_client()
    path = "/employers/100100001/members/lookup"
    body = {"member_nos": [NORMAL[0]["member_no"], OTHERS[0]["member_no"], "nobody"]}
    reader = auth(token_for("service", None, perms=("member_read",), login_name="payment"))
    found = client.post(path, json=body, headers=reader)
    assert found.status_code == 200
    [item] = found.get_json()["items"]  # another employer's member is not this employer's
    assert (item["member_no"], item["name"], item["status"], item["first_month"]) == (
        NORMAL[0]["member_no"], NORMAL[0]["name"], "01", NORMAL[0]["first_month"])
    for refused in (auth(token_for("service", None, perms=("push",), login_name="x")), auth(token_for())):
        assert client.post(path, json=body, headers=refused).status_code == 403
    assert client.post(path, json={"member_nos": ["1"] * 2001}, headers=reader).status_code == 422


def test_a_month_paid_outside_the_roster_is_marked_at_approval_and_the_rest_booked(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    """The unique (member, month) of the months paid decides even if a roster's claim were bypassed
    (a month recorded paid while the business was in approval)."""
    from datetime import date

    from hall_common import db
    from services.payment import ledger
    from services.payment.supplement_models import SupplementMonth

    fund(app, "1000.00")
    a, b = NORMAL[12], NORMAL[13]
    add(app, employer_headers, entry(a["member_no"], "202501", "100.00"))
    add(app, employer_headers, entry(b["member_no"], "202501", "200.00"))
    commit(app, employer_headers)
    [business_id] = business_ids(app)
    with app.app_context():
        session = db.session()
        other, _ = ledger.book(session, employer_no="100100001", detail_type="99", summary="测试",
                               booking_date=date.today(), source="test:paid-elsewhere",
                               lines=[ledger.Line(a["member_no"])])
        session.add(SupplementMonth(employer_no="100100001", member_no=a["member_no"], month="202501",
                                    amount=Decimal("100.00"), reason="漏缴补缴", business_id=0, entry_id=other.id,
                                    created_at=db.utcnow()))
        session.commit()
    assert decide(app, business_id) == "processed"
    [(booked, lines)] = journal(app)
    assert [(line.member_no, line.amount) for line in lines] == [(b["member_no"], Decimal("200.00"))]
    assert account(app)[1] == Decimal("800.00")
    items = app.test_client().get(f"/businesses/{TYPE}/{business_id}", headers=employer_headers).get_json()["items"]
    assert items[0]["result"].startswith("未补缴：") and "2025年01月已补缴" in items[0]["result"]
    assert "result" not in items[1]
