"""缴存人登记 (ch. 8) through the member service: the opening roster's rules both ways, 确认开户 as one
business, the opening applied once with its numbers, status history and domain event."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask import Flask

from deploy import demo_data

from .conftest import OTHER_EMPLOYER_NO, auth, make_app, outbox_events, token_for
from .member_support import (
    BASE,
    add,
    business_ids,
    commit,
    decide,
    members_by_id,
    registration,
    resident_id,
    rows,
)

TYPE = "member_registration"


@pytest.fixture
def app() -> Flask:
    return make_app("member")


def test_a_typed_row_enters_the_roster_with_its_monthly_amount(app: Flask, employer_headers: dict[str, str]) -> None:
    answer = add(app, employer_headers, TYPE, registration("张三", resident_id(1).lower(), base="6543.21"))
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["message"] == "开户清册录入成功"
    [row] = rows(app, employer_headers, TYPE)["items"]
    # DOMAIN.md's example: 6,543.21 at 12% + 12% is 785.19 + 785.19; the lower-case x is read as X.
    assert (row["name"], row["id_number"], row["base"], row["monthly_amount"]) == (
        "张三", resident_id(1).upper(), "6543.21", "1570.38")
    assert row["ratio_text"] == "12%"


@pytest.mark.parametrize(("values", "field", "reason"), [
    ({"id_number": "check"}, "id_number", "出生日期或校验位不正确"),
    ({"id_number": "110105199013010019"}, "id_number", "出生日期或校验位不正确"),
    ({"id_number": "1101051990"}, "id_number", "应为18位居民身份证号码"),
    ({"base": "-5"}, "base", "应为金额"),
    ({"base": "12.345"}, "base", "应为金额"),
    ({"base": "1" + "0" * 30}, "base", "应为金额"),
    ({"first_month": "202613"}, "first_month", "应为有效年月"),
    ({"name": ""}, "name", "不能为空"),
    ({"name": "张\x00三"}, "name", "控制字符"),
    ({"mobile": "12345"}, "mobile", "应为11位手机号"),
    ({"ratio": "30"}, "ratio", "应为"),
])
def test_a_bad_row_is_refused_naming_its_field(app: Flask, employer_headers: dict[str, str],
                                               values: dict[str, str], field: str, reason: str) -> None:
    valid = resident_id(2)
    if values.get("id_number") == "check":  # the right length and birth date, the wrong check character
        values = {"id_number": valid[:-1] + ("1" if valid[-1] != "1" else "2")}
    answer = add(app, employer_headers, TYPE, registration("张三", valid) | values)
    assert answer.status_code == 422, answer.get_json()
    body = answer.get_json()
    found = body["errors"]["json"]
    # A control character is refused by the request's schema, before the row check reads the row.
    reasons = found[field] if field in found else [str(found["values"])]
    assert reason in "；".join(reasons), body
    assert rows(app, employer_headers, TYPE)["total"] == 0


def test_an_id_twice_in_the_roster_or_already_open_is_refused(app: Flask, employer_headers: dict[str, str]) -> None:
    assert add(app, employer_headers, TYPE, registration("张三", resident_id(3))).status_code == 201
    again = add(app, employer_headers, TYPE, registration("张三", resident_id(3)))
    assert again.status_code == 422
    assert again.get_json()["errors"]["json"]["id_number"] == ["该证件号码已在清册中"]
    demo_member = demo_data.members()[0]
    opened = add(app, employer_headers, TYPE, registration("李四", demo_member["id_number"]))
    assert opened.status_code == 422
    assert opened.get_json()["errors"]["json"]["id_number"] == ["该证件号码已在本单位开户"]


def test_rows_are_deleted_by_their_own_employer_only(app: Flask, employer_headers: dict[str, str],
                                                    other_employer_headers: dict[str, str]) -> None:
    row_id = add(app, employer_headers, TYPE, registration("张三", resident_id(4))).get_json()["row"]["id"]
    client = app.test_client()
    other = client.delete(f"{BASE}/rosters/{TYPE}/rows/{row_id}", headers=other_employer_headers)
    assert other.status_code == 403
    theirs = client.delete(f"/employers/{OTHER_EMPLOYER_NO}/rosters/{TYPE}/rows/{row_id}",
                           headers=other_employer_headers)
    assert theirs.status_code == 404  # under its own path the row is simply not there
    assert client.delete(f"{BASE}/rosters/{TYPE}/rows/{row_id}", headers=employer_headers).get_json() == {
        "message": "删除成功"}
    assert rows(app, employer_headers, TYPE)["total"] == 0


def test_an_account_without_the_permission_cannot_fill_the_roster(app: Flask) -> None:
    headers = auth(token_for(perms=("member_query",)))
    assert add(app, headers, TYPE, registration("张三", resident_id(5))).status_code == 403
    center = auth(token_for("center", None))
    assert add(app, center, TYPE, registration("张三", resident_id(5))).status_code == 403  # filed by employers only
    assert app.test_client().get(f"{BASE}/rosters/{TYPE}", headers=center).status_code == 200


def test_confirm_opening_commits_every_row_as_one_business_and_applies_it_once(
        app: Flask, employer_headers: dict[str, str]) -> None:
    for serial in (6, 7, 8):
        assert add(app, employer_headers, TYPE, registration(f"新员工{serial}", resident_id(serial))).status_code == 201
    committed = commit(app, employer_headers, TYPE)
    assert committed.status_code == 201, committed.get_json()
    assert committed.get_json()["row_count"] == 3
    assert rows(app, employer_headers, TYPE)["total"] == 0
    assert commit(app, employer_headers, TYPE).get_json()["message"] == "清册为空，请先录入清册"
    [business_id] = business_ids(app, TYPE)
    submitted = [e for e in outbox_events(app) if e["type"] == "business.submitted"][0]["data"]
    assert (submitted["summary"], submitted["row_count"], submitted["permission"]) == ("3人", 3, "member_register")
    assert decide(app, TYPE, business_id) == "processed"
    members = members_by_id(app, employer_headers)
    opened = [members[resident_id(s)] for s in (6, 7, 8)]
    numbers = [m["member"]["member_no"] for m in opened]
    assert len(set(numbers)) == 3 and all(n.startswith("100100001") and len(n) == 15 for n in numbers)
    assert {m["status_name"] for m in opened} == {"正常"}
    assert Decimal(opened[0]["monthly_amount"]) == Decimal("1200.00")
    [event] = [e for e in outbox_events(app) if e["type"] == "member.registered"]
    assert (event["data"]["applied"], event["data"]["summary"]) == (3, "3人")
    # The approver's view: the committed rows with their new numbers.
    center = auth(token_for("center", None))
    view = app.test_client().get(f"/businesses/{TYPE}/{business_id}", headers=center).get_json()
    assert sorted(item["member_no"] for item in view["items"]) == sorted(numbers)
    # The opening is in the status history (12.3) and the same IDs may not be registered again.
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    history = app.test_client().get(f"{BASE}/queries/member-status-changes?change_type=03&start_date={today}",
                                    headers=employer_headers).get_json()
    assert sorted(item["member_no"] for item in history["items"]) == sorted(numbers)
    assert add(app, employer_headers, TYPE, registration("再次", resident_id(6))).status_code == 422


def test_a_rejected_registration_opens_nobody_and_frees_its_ids(app: Flask, employer_headers: dict[str, str]) -> None:
    add(app, employer_headers, TYPE, registration("张三", resident_id(9)))
    commit(app, employer_headers, TYPE)
    [business_id] = business_ids(app, TYPE)
    # While the business is pending its ID stays claimed: it cannot be put in the roster again.
    assert add(app, employer_headers, TYPE, registration("张三", resident_id(9))).status_code == 422
    assert decide(app, TYPE, business_id, "business.rejected", approver="复核员", opinion="资料不全") == "processed"
    assert resident_id(9) not in members_by_id(app, employer_headers)
    assert add(app, employer_headers, TYPE, registration("张三", resident_id(9))).status_code == 201


def test_a_commit_that_fails_half_way_stores_nothing(app: Flask, employer_headers: dict[str, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from services.member.businesses import BUSINESSES

    add(app, employer_headers, TYPE, registration("张三", resident_id(10)))

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the outbox is unreachable")

    monkeypatch.setattr(BUSINESSES, "submit", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert commit(app, employer_headers, TYPE).status_code == 500
    monkeypatch.undo()
    assert rows(app, employer_headers, TYPE)["total"] == 1  # the row is still a draft, no business exists
    assert business_ids(app, TYPE) == []
    assert commit(app, employer_headers, TYPE).status_code == 201


def test_an_apply_that_fails_half_way_opens_nobody(app: Flask, employer_headers: dict[str, str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import services.member.registration as registration_module

    add(app, employer_headers, TYPE, registration("张三", resident_id(11)))
    commit(app, employer_headers, TYPE)
    [business_id] = business_ids(app, TYPE)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("crash after the members were inserted")

    monkeypatch.setattr(registration_module, "emit", broken)
    with pytest.raises(RuntimeError):
        decide(app, TYPE, business_id)
    assert resident_id(11) not in members_by_id(app, employer_headers)
    monkeypatch.undo()
    assert decide(app, TYPE, business_id) == "processed"  # the redelivery opens it, once
    assert resident_id(11) in members_by_id(app, employer_headers)


def test_a_returned_registration_is_resubmitted_as_it_stands_or_ended(app: Flask,
                                                                      employer_headers: dict[str, str]) -> None:
    """A center task added in the designer may return the business: the generic page's 重新提交 sends
    it back as it stands (its IDs still claimed); 结束流程 ends it and frees them."""
    add(app, employer_headers, TYPE, registration("张三", resident_id(12)))
    commit(app, employer_headers, TYPE)
    [business_id] = business_ids(app, TYPE)
    assert decide(app, TYPE, business_id, "business.returned", approver="复核员", opinion="基数有误") == "processed"
    client = app.test_client()
    resubmitted = client.post(f"/businesses/{TYPE}/{business_id}/resubmit", headers=employer_headers)
    assert resubmitted.status_code == 200, resubmitted.get_json()
    assert client.post(f"/businesses/{TYPE}/{business_id}/resubmit", headers=employer_headers).status_code == 409
    assert [e["data"]["summary"] for e in outbox_events(app) if e["type"] == "business.resubmitted"] == ["1人"]
    assert add(app, employer_headers, TYPE, registration("张三", resident_id(12))).status_code == 422
    decide(app, TYPE, business_id, "business.returned", approver="复核员", opinion="再次退回")
    assert decide(app, TYPE, business_id, "business.ended", by="employer", reason="不办了") == "processed"
    assert resident_id(12) not in members_by_id(app, employer_headers)
    assert add(app, employer_headers, TYPE, registration("张三", resident_id(12))).status_code == 201
