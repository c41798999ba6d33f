"""基数调整's batch-edit grid (批量录入: a page of 正常 members, a cell left records its row at once, by
member) and its batch import (a template per 变更类别, a bad row named, nothing added until settled)."""

from __future__ import annotations

import io
from functools import partial
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

from ..threads import at_once
from .adjustment_support import NORMAL, SEALED, THIS_MONTH, TYPE, insert_policies, values
from .conftest import AnyDb, auth, make_app, token_for
from .member_support import BASE, add, commit, filled, rows, template, upload

GRID = f"{BASE}/base-adjustment/grid"
BY_CLAIM = f"{BASE}/rosters/{TYPE}/rows/by-claim"


def make() -> Flask:
    made = make_app("member")
    insert_policies(made)
    return made


@pytest.fixture
def app() -> Flask:
    return make()


def _grid(app: Flask, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    answer = app.test_client().get(GRID, query_string=params, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return dict(answer.get_json())


def _put(app: Flask, headers: dict[str, str], member_no: str, entry: dict[str, str]) -> Any:
    return app.test_client().put(f"{BY_CLAIM}/{member_no}", json={"values": entry}, headers=headers)


def test_the_grid_pages_through_normal_members_with_their_figures(app: Flask, employer_headers: dict[str, str]) -> None:
    normal = sorted(NORMAL, key=lambda m: m["member_no"])
    first = _grid(app, employer_headers, category="base", page=1, per_page=50)
    assert first["total"] == len(NORMAL)
    assert [i["member_no"] for i in first["items"]] == [m["member_no"] for m in normal[:50]]
    item = first["items"][0]
    assert (item["name"], item["base"], item["employer_ratio"], item["personal_ratio"]) == (
        normal[0]["name"], f"{normal[0]['base']:.2f}", "12", "12")
    assert item["state"] == "" and item["row"] is None
    last = _grid(app, employer_headers, page=-(-len(NORMAL) // 50), per_page=50)
    assert [i["member_no"] for i in last["items"]] == [m["member_no"] for m in normal[-(len(NORMAL) % 50 or 50):]]
    assert SEALED[0]["member_no"] not in {i["member_no"] for i in first["items"] + last["items"]}
    # A page past the middle (read from the end backwards) is the same slice of the list.
    for per_page, page in ((50, 4), (7, 30), (100, 2)):
        listed = _grid(app, employer_headers, page=page, per_page=per_page)["items"]
        assert [i["member_no"] for i in listed] == [m["member_no"] for m in
                                                    normal[(page - 1) * per_page:page * per_page]], (per_page, page)
    assert _grid(app, employer_headers, page=99, per_page=50)["items"] == []
    found = _grid(app, employer_headers, q=normal[3]["name"])
    assert normal[3]["member_no"] in [i["member_no"] for i in found["items"]]
    assert all(i["name"].startswith(normal[3]["name"]) for i in found["items"])
    assert _grid(app, employer_headers, q="%")["total"] == 0  # a wildcard is a character, not a pattern


@pytest.mark.parametrize(("params", "reason"), [
    ({"per_page": 201}, "每页条数"), ({"page": 0}, "页码"), ({"category": "salary"}, "变更类别不正确"),
    ({"q": "x" * 31}, "不能超过30个字"),
])
def test_the_grid_bounds_its_paging_and_filters(app: Flask, employer_headers: dict[str, str], params: dict[str, Any],
                                               reason: str) -> None:
    answer = app.test_client().get(GRID, query_string=params, headers=employer_headers)
    assert answer.status_code == 422 and reason in answer.get_json()["message"]


def test_the_grid_is_the_employers_own_with_the_right(app: Flask, other_employer_headers: dict[str, str],
                                                      center_headers: dict[str, str]) -> None:
    client = app.test_client()
    assert client.get(GRID, headers=other_employer_headers).status_code in (403, 404)
    assert client.get(GRID, headers=center_headers).status_code == 403
    no_right = auth(token_for(perms=("member_query",)))
    refused = client.get(GRID, headers=no_right)
    assert refused.status_code == 403 and "无权" in refused.get_json()["message"]
    assert client.put(f"{BY_CLAIM}/{NORMAL[0]['member_no']}", headers=no_right,
                      json={"values": values(NORMAL[0]["member_no"], base="6000")}).status_code == 403


def test_a_cell_left_records_its_member_once_and_edits_overwrite(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[20]["member_no"]
    recorded = _put(app, employer_headers, member, values(member, base="6000"))
    assert recorded.status_code == 200, recorded.get_json()
    assert recorded.get_json()["row"]["new_amount"] == "1440.00"
    again = _put(app, employer_headers, member, values(member, "amount", amount="1500"))
    assert again.get_json()["row"]["new_amount"] == "1500.00" and again.get_json()["row"]["new_base"] == "6250.00"
    listed = rows(app, employer_headers, TYPE)
    assert listed["total"] == 1 and listed["items"][0]["category_name"] == "月缴存额"
    shown = next(i for i in _grid(app, employer_headers, member_no=member)["items"])
    assert shown["state"] == "draft" and shown["row"]["amount"] == "1500.00"
    # A refused edit changes nothing and names the reason.
    bad = _put(app, employer_headers, member, values(member, base="99999999"))
    assert bad.status_code == 422 and "新缴存基数" in bad.get_json()["message"]
    assert rows(app, employer_headers, TYPE)["items"][0]["new_amount"] == "1500.00"
    # The path names the member edited.
    other = _put(app, employer_headers, member, values(NORMAL[21]["member_no"], base="6000"))
    assert other.status_code == 422 and "个人账号与所编辑的记录不符" in other.get_json()["message"]
    # Once saved it is in approval: not editable, and the grid says so.
    assert commit(app, employer_headers, TYPE, [listed["items"][0]["id"]]).status_code == 201
    held = _put(app, employer_headers, member, values(member, base="6100"))
    assert held.status_code == 409 and "已提交审核但未审批的业务，不得重复提交" in held.get_json()["message"]
    assert _grid(app, employer_headers, member_no=member)["items"][0]["state"] == "pending"


def test_ten_simultaneous_edits_of_one_member_leave_one_row(any_db: AnyDb, employer_headers: dict[str, str]) -> None:
    app = any_db.app("member", make)
    member = NORMAL[22]["member_no"]

    def edit(index: int) -> Any:
        return _put(app, employer_headers, member, values(member, base=f"{6000 + index}"))

    answers = at_once([partial(edit, i) for i in range(10)])
    assert [a.status_code for a in answers] == [200] * 10, [a.get_json() for a in answers]
    assert rows(app, employer_headers, TYPE)["total"] == 1


def test_a_template_per_category(app: Flask, employer_headers: dict[str, str]) -> None:
    heads = {}
    for option in ("base", "amount", "ratio"):
        sheet = load_workbook(io.BytesIO(template(app, employer_headers, TYPE, option))).worksheets[0]
        heads[option] = [c.value for c in sheet[1]]
    assert heads["base"] == ["个人账号", "姓名", "证件号码", "新缴存基数", "生效年月"]
    assert heads["amount"] == ["个人账号", "姓名", "证件号码", "新月缴存额", "生效年月"]
    assert heads["ratio"] == ["个人账号", "姓名", "证件号码", "新单位缴存比例", "新个人缴存比例", "生效年月"]
    refused = app.test_client().get(f"{BASE}/rosters/{TYPE}/template?option=salary", headers=employer_headers)
    assert refused.status_code == 422


def test_an_import_with_a_bad_row_names_it_and_adds_nothing_until_accepted(
        app: Flask, employer_headers: dict[str, str]) -> None:
    good, sealed, wrong_name = NORMAL[30], SEALED[1], NORMAL[31]
    content = filled(template(app, employer_headers, TYPE, "ratio"), [
        [good["member_no"], good["name"], good["id_number"], "10", "8", THIS_MONTH],
        [sealed["member_no"], sealed["name"], "", "10", "8", THIS_MONTH],
        [wrong_name["member_no"], "某某", "", "10", "13", THIS_MONTH],
    ])
    answer = upload(app, employer_headers, TYPE, content, "ratio")
    assert answer.status_code == 202, answer.get_json()
    found = answer.get_json()["import"]
    assert found["status"] == "checked" and (found["good"], found["bad"]) == (1, 2)
    reasons = [f"第{e['row']}行 {e['field']}：{e['reason']}" for e in found["errors"]]
    assert any(r.startswith("第3行 个人账号：缴存人") and "当前状态为封存" in r for r in reasons), reasons
    assert any(r.startswith("第4行 姓名：与个人账号") for r in reasons), reasons
    assert rows(app, employer_headers, TYPE)["total"] == 0
    accepted = app.test_client().post(f"{BASE}/imports/{found['id']}/accept", headers=employer_headers)
    assert accepted.status_code == 200, accepted.get_json()
    [row] = rows(app, employer_headers, TYPE)["items"]
    assert (row["member_no"], row["new_ratio_text"], row["category_name"]) == (good["member_no"], "10%/8%", "缴存比例")


def test_an_imported_member_already_in_the_roster_is_refused(app: Flask, employer_headers: dict[str, str]) -> None:
    member = NORMAL[32]
    assert add(app, employer_headers, TYPE, values(member["member_no"], base="6000")).status_code == 201
    content = filled(template(app, employer_headers, TYPE, "base"),
                     [[member["member_no"], member["name"], "", "6100", THIS_MONTH]])
    found = upload(app, employer_headers, TYPE, content, "base").get_json()["import"]
    assert (found["status"], found["bad"]) == ("checked", 1)
    assert "不得重复提交" in str(found["errors"]), found


def test_the_grid_page_reads_the_grid_index(app: Flask) -> None:
    import sqlalchemy as sa

    from hall_common import db

    with app.app_context():
        plan = db.session().execute(sa.text(
            "EXPLAIN QUERY PLAN SELECT member_no FROM members WHERE employer_no = :e AND status = '01' "
            "ORDER BY member_no LIMIT 50 OFFSET 100"), {"e": "100100001"}).all()
    assert "USING COVERING INDEX ix_members_employer_status_member" in str(plan), plan
