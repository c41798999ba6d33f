"""缴存人信息变更 (ch. 9): a member's nine items changed through approval, coded values checked, one
pending change per member (even from fifty threads), returned, corrected and resubmitted, shown in 12.2."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from deploy import demo_data
from hall_common import business_types, db

from ..threads import at_once
from .conftest import AnyDb, auth, make_app, outbox_events, token_for
from .member_support import BASE, decide

MEMBERS = demo_data.members()
NORMAL = [m for m in MEMBERS if m["status"] == "01"]
SEALED = [m for m in MEMBERS if m["status"] == "02"]
FROZEN = [m for m in MEMBERS if m["status"] == "06"]
CLOSED = [m for m in MEMBERS if m["status"] == "05"]
TYPE = "member_change"


@pytest.fixture
def app() -> Flask:
    return make_app("member")


def answer(response: Any) -> tuple[int, str]:
    return response.status_code, response.get_json()["message"]


def post(app: Flask, headers: dict[str, str], member_no: str, changes: dict[str, str]) -> Any:
    rows = [{"field": k, "value": v} for k, v in changes.items()]
    return app.test_client().post(f"{BASE}/member-changes", json={"member_no": member_no, "changes": rows},
                                  headers=headers)


def submit(app: Flask, headers: dict[str, str], member_no: str, changes: dict[str, str]) -> int:
    response = post(app, headers, member_no, changes)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["request"]["id"])


def profile(app: Flask, headers: dict[str, str], member_no: str) -> dict[str, Any]:
    response = app.test_client().get(f"{BASE}/member-changes/profile?member_no={member_no}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def values(app: Flask, headers: dict[str, str], member_no: str) -> dict[str, str]:
    return {f["name"]: f["shown"] for f in profile(app, headers, member_no)["fields"]}


def history(app: Flask, headers: dict[str, str], member_no: str) -> list[tuple[str, str, str]]:
    page = app.test_client().get(f"{BASE}/queries/member-changes?member_no={member_no}", headers=headers).get_json()
    return [(i["label"], i["old_value"], i["new_value"]) for i in page["items"]]


def test_the_member_is_echoed_with_greyed_items_and_the_nine_items_offered(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    member = NORMAL[0]
    shown = profile(app, employer_headers, member["member_no"])
    greyed = [(f["label"], f["shown"]) for f in shown["fields"] if not f["editable"]]
    assert ("姓名", member["name"]) in greyed and ("证件号码", member["id_number"]) in greyed
    assert ("个人账户状态", "01 正常") in greyed
    assert [f["label"] for f in shown["fields"] if f["editable"]] == [
        "学历", "固定电话", "邮政编码", "职务", "职业", "职称", "婚姻状况", "家庭住址", "家庭收入"]
    education = next(f for f in shown["fields"] if f["name"] == "education")
    assert {"code": "21", "name": "本科"} in education["choices"]
    assert shown["request"] is None and shown["changeable"] is True


def test_an_approved_change_is_applied_shown_in_12_2_and_messaged(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[1]["member_no"]
    request_id = submit(app, employer_headers, member, {"education": "21", "landline": "0351-7654321",
                                                         "marital_status": "20", "family_income": "8000.5"})
    submitted = [e["data"] for e in outbox_events(app) if e["type"] == "business.submitted"]
    assert [(d["business_type"], d["summary"], d["row_count"]) for d in submitted] == [
        (TYPE, "学历、固定电话、婚姻状况、家庭收入", 4)]
    assert profile(app, employer_headers, member)["request"]["status_name"] == "审批中"
    assert values(app, employer_headers, member)["education"] == ""  # nothing applied before approval
    assert decide(app, TYPE, str(request_id), approver="中心审核员李明") == "processed"
    after = values(app, employer_headers, member)
    assert (after["education"], after["landline"], after["marital_status"], after["family_income"]) == (
        "21 本科", "0351-7654321", "20 已婚", "8000.50")
    assert history(app, employer_headers, member) == [
        ("学历", "", "21 本科"), ("固定电话", "", "0351-7654321"), ("婚姻状况", "", "20 已婚"),
        ("家庭收入", "", "8000.50")]
    [changed] = [e["data"] for e in outbox_events(app) if e["type"] == "member.info_changed"]
    assert (changed["member_no"], changed["employer_name"], changed["approver"]) == (
        member, "太原市示例科技有限公司", "中心审核员李明")
    message = business_types.resolve(TYPE).message("approved", changed)
    assert message == (f"尊敬的太原市示例科技有限公司，您已完成办理缴存人信息变更（业务编号{request_id}，"
                       "变更项：学历、固定电话、婚姻状况、家庭收入）！")
    # The slot is free again: a second change of the same member goes in.
    assert post(app, employer_headers, member, {"education": "14"}).status_code == 201
    assert values(app, employer_headers, member)["education"] == "21 本科"  # until that one is approved


def test_codes_and_values_are_checked_every_row_named_and_nothing_stored(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    member = NORMAL[2]["member_no"]
    bad = post(app, employer_headers, member, {
        "education": "99", "marital_status": "20", "postcode": "0300", "family_income": "-1", "name": "改名",
        "landline": "12345", "duty": "职" * 51})
    assert bad.status_code == 422
    message = bad.get_json()["message"]
    assert "第1行 学历：学历代码不正确，应为11 博士、14 硕士" in message
    assert "第2行" not in message  # 20 已婚 is a GB/T 2261.2 code
    for text in ("第3行 邮政编码：邮政编码格式不正确，应为6位数字", "第4行 家庭收入：家庭收入应为不小于0的金额",
                 "第5行 姓名：置灰项不允许修改", "第6行 固定电话：固定电话格式不正确",
                 "第7行 职务：职务不能超过50个字"):
        assert text in message
    assert set(bad.get_json()["errors"]["json"]["changes"]) == {"0", "2", "3", "4", "5", "6"}
    for changes, reason in [({}, "待变更清册为空，请先修改需变更的项目"),
                            ({"family_income": "12.345"},
                             "第1行 家庭收入：家庭收入应为不小于0的金额（元），最多两位小数"),
                            ({"home_address": " "}, "第1行 家庭住址：变更后的内容与原内容相同")]:
        assert answer(post(app, employer_headers, member, changes)) == (422, reason)
    control = post(app, employer_headers, member, {"duty": "科\x00长"})
    assert control.status_code == 422 and "不能包含控制字符" in str(control.get_json()["errors"])
    surrogate = app.test_client().post(f"{BASE}/member-changes", headers={**employer_headers, "Content-Type":
                                       "application/json"}, data=b'{"member_no": "%s", "changes": [{"field": "duty",'
                                       b' "value": "\\ud800"}]}' % member.encode())
    assert surrogate.status_code == 422 and "含有无效字符" in str(surrogate.get_json())
    unchanged = post(app, employer_headers, member, {"education": "21"})
    assert unchanged.status_code == 201
    assert decide(app, TYPE, str(unchanged.get_json()["request"]["id"])) == "processed"
    assert answer(post(app, employer_headers, member, {"education": "21"})) == (
        422, "第1行 学历：变更后的内容与原内容相同")
    assert [e["type"] for e in outbox_events(app)].count("business.submitted") == 1


def test_a_member_with_a_change_in_approval_is_refused(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[3]["member_no"]
    submit(app, employer_headers, member, {"duty": "部门经理"})
    assert answer(post(app, employer_headers, member, {"title": "工程师"})) == (409, "缴存人存在未审批完成的变更业务")
    # Another member is not held by it.
    assert post(app, employer_headers, NORMAL[4]["member_no"], {"title": "工程师"}).status_code == 201


def test_a_sealed_member_may_change_a_frozen_or_closed_one_may_not(app: Flask,
                                                                   employer_headers: dict[str, str]) -> None:
    assert post(app, employer_headers, SEALED[0]["member_no"], {"occupation": "教师"}).status_code == 201
    for member, state in ((FROZEN[0], "冻结"), (CLOSED[0], "提取销户")):
        assert answer(post(app, employer_headers, member["member_no"], {"occupation": "教师"})) == (
            409, f"缴存人{member['name']}（{member['member_no']}）账户状态为{state}，不能办理信息变更")
        assert profile(app, employer_headers, member["member_no"])["changeable"] is False


def test_a_rejected_change_applies_nothing(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[5]["member_no"]
    request_id = submit(app, employer_headers, member, {"home_address": "太原市迎泽区新建路1号"})
    assert decide(app, TYPE, str(request_id), "business.rejected", opinion="地址不详") == "processed"
    assert values(app, employer_headers, member)["home_address"] == ""
    assert history(app, employer_headers, member) == []
    [rejected] = [e["data"] for e in outbox_events(app) if e["type"] == "member.info_change_rejected"]
    assert rejected["opinion"] == "地址不详"
    assert "地址不详" in business_types.resolve(TYPE).message("rejected", rejected)
    assert profile(app, employer_headers, member)["request"] is None  # free for a new submission


def test_returned_corrected_resubmitted_into_the_same_process_and_approved(
    app: Flask, employer_headers: dict[str, str]
) -> None:
    member = NORMAL[6]["member_no"]
    request_id = submit(app, employer_headers, member, {"postcode": "030001", "marital_status": "10"})
    assert decide(app, TYPE, str(request_id), "business.returned", approver="复核员张敏", opinion="婚姻状况有误") \
        == "processed"
    pending = profile(app, employer_headers, member)["request"]
    assert (pending["status"], pending["opinion"], [r["new"] for r in pending["changes"]]) == (
        "returned", "婚姻状况有误", ["030001", "10"])
    listed = app.test_client().get(f"{BASE}/member-changes?status=returned", headers=employer_headers).get_json()
    assert [(i["request"]["id"], i["member_name"]) for i in listed["items"]] == [(request_id, NORMAL[6]["name"])]
    url = f"{BASE}/member-changes/{request_id}"
    bad = app.test_client().put(url, json={"changes": [{"field": "marital_status", "value": "25"}]},
                                headers=employer_headers)
    assert bad.status_code == 422 and "第1行 婚姻状况：婚姻状况代码不正确" in bad.get_json()["message"]
    rows = [{"field": "postcode", "value": "030001"}, {"field": "marital_status", "value": "20"}]
    answers = at_once([lambda: answer(app.test_client().put(url, json={"changes": rows}, headers=employer_headers))]
                      * 5, app)
    refused = (409, "该变更申请未被退回，不能重新提交，请刷新后查看")
    assert sorted(answers) == [(200, "已提交至中心审核")] + [refused] * 4
    resubmitted = [e["data"] for e in outbox_events(app) if e["type"] == "business.resubmitted"]
    assert [(d["business_id"], d["business_type"]) for d in resubmitted] == [(str(request_id), TYPE)]
    assert decide(app, TYPE, str(request_id)) == "processed"
    assert history(app, employer_headers, member) == [("邮政编码", "", "030001"), ("婚姻状况", "", "20 已婚")]
    rows_read = app.test_client().get(f"/businesses/{TYPE}/{request_id}", headers=employer_headers).get_json()
    assert [(i["label"], i["new"]) for i in rows_read["items"]] == [("邮政编码", "030001"), ("婚姻状况", "20 已婚")]


def test_only_the_employers_own_operators_with_the_permission(
    app: Flask, employer_headers: dict[str, str], other_employer_headers: dict[str, str],
    center_headers: dict[str, str],
) -> None:
    member = NORMAL[7]["member_no"]
    changes = {"title": "高级工程师"}
    assert post(app, other_employer_headers, member, changes).status_code == 403
    assert post(app, center_headers, member, changes).status_code == 403
    assert answer(post(app, auth(token_for(perms=("member_query",))), member, changes)) == (
        403, "当前账号无权办理该业务")
    other = demo_data.members(demo_data.SECOND_EMPLOYER_NO)[0]["member_no"]
    assert answer(post(app, employer_headers, other, changes)) == (404, "缴存人不存在")
    assert app.test_client().get(f"{BASE}/member-changes/profile?member_no={member}",
                                 headers=other_employer_headers).status_code == 403
    request_id = submit(app, employer_headers, member, changes)
    assert profile(app, center_headers, member)["request"]["id"] == request_id  # the center may look
    too_many = [{"field": "title", "value": str(n)} for n in range(10)]
    refused = app.test_client().post(f"{BASE}/member-changes", json={"member_no": member, "changes": too_many},
                                     headers=employer_headers)
    assert refused.status_code == 422 and "待变更清册最多9行" in str(refused.get_json()["errors"])


@pytest.fixture
def any_db_app(any_db: AnyDb) -> Flask:
    return any_db.app("member")


def test_fifty_simultaneous_submissions_for_one_member_store_one(any_db_app: Flask,
                                                                 employer_headers: dict[str, str]) -> None:
    app = any_db_app
    member = NORMAL[8]["member_no"]
    answers = at_once([lambda n=n: answer(post(app, employer_headers, member, {"duty": f"职务{n}"}))
                       for n in range(50)], app)
    assert sorted(a[0] for a in answers) == [201] + [409] * 49
    assert {a for a in answers if a[0] == 409} == {(409, "缴存人存在未审批完成的变更业务")}
    assert [e["type"] for e in outbox_events(app)] == ["business.submitted"]


def test_a_member_frozen_while_returned_cannot_be_resubmitted(app: Flask, employer_headers: dict[str, str]) -> None:
    from services.member.models import Member

    member = NORMAL[9]
    request_id = submit(app, employer_headers, member["member_no"], {"duty": "科长"})
    assert decide(app, TYPE, str(request_id), "business.returned", opinion="请核实") == "processed"
    with app.app_context():
        db.session().execute(update(Member).where(Member.member_no == member["member_no"]).values(status="06"))
        db.session().commit()
    refused = app.test_client().put(f"{BASE}/member-changes/{request_id}", headers=employer_headers,
                                    json={"changes": [{"field": "duty", "value": "处长"}]})
    assert refused.status_code == 409 and "账户状态为冻结" in refused.get_json()["message"]
