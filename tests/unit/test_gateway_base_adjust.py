"""基数调整's page through the gateway, the member service replaced by a fake: its three ways in (单笔录入
with the echo and the preview, 批量录入's grid recording a cell, 批量导入 with the category's template),
the roster below with 删除 and 保存, and an account without 基数调整 sent home."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from hall_common.client import ServiceError

from .gateway_member_support import EMP, SPECS, FakeMember, fake_member, flashed, operator

SPEC = {
    "type": "base_adjustment", "title": "基数调整", "entry_label": "录入清册", "entry_message": "基数调整清册录入成功",
    "commit_label": "保存", "commit_scope": "selected",
    "fields": [
        {"key": "member_no", "label": "个人账号", "kind": "member", "choices": [], "required": True, "default": ""},
        {"key": "category", "label": "变更类别", "kind": "choice", "required": True, "default": "base",
         "choices": [{"value": "base", "label": "个人缴存基数"}, {"value": "amount", "label": "月缴存额"},
                     {"value": "ratio", "label": "缴存比例"}]},
        {"key": "base", "label": "新缴存基数", "kind": "money", "choices": [], "required": False, "default": ""},
        {"key": "amount", "label": "新月缴存额", "kind": "money", "choices": [], "required": False, "default": ""},
        {"key": "employer_ratio", "label": "新单位缴存比例", "kind": "ratio", "choices": [], "required": False,
         "default": ""},
        {"key": "personal_ratio", "label": "新个人缴存比例", "kind": "ratio", "choices": [], "required": False,
         "default": ""},
        {"key": "effective_month", "label": "生效年月", "kind": "month", "choices": [], "required": True,
         "default": ""},
    ],
    "columns": [{"key": "member_no", "label": "个人账号"}, {"key": "name", "label": "姓名"},
                {"key": "new_amount", "label": "新月缴存额"}],
    "import_option": {"key": "category", "label": "变更类别", "default": "base",
                      "choices": [{"value": "base", "label": "个人缴存基数"}, {"value": "amount", "label": "月缴存额"},
                                  {"value": "ratio", "label": "缴存比例"}]},
}
PERMS = ["base_adjust"]
ITEM = {"member_no": "1001000010", "name": "张三", "id_number": "110101199003077777", "base": "4000.00",
        "employer_ratio": "12", "personal_ratio": "12", "amount": "960.00", "state": "", "row": None}
GRID = f"/employers/{EMP}/base-adjustment"


class FakeAdjust(FakeMember):
    def __init__(self) -> None:
        super().__init__()
        self.grid_items: list[dict[str, Any]] = [ITEM]

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        if path == f"{GRID}/grid":
            self.calls.append((method, path, params, json))
            return {"items": self.grid_items, "total": 41, "page": (params or {}).get("page", 1), "per_page": 20}
        if path == f"{GRID}/preview" or "/rows/by-claim/" in path:
            self.calls.append((method, path, params, json))
            if self.refuse is not None:
                raise self.refuse
            row = {"id": 9, "member_no": json["values"]["member_no"], "name": "张三", "new_base": "8000.00",
                   "new_amount": "1920.00", "new_ratio_text": "12%/12%", "new_employer_amount": "960.00",
                   "new_personal_amount": "960.00"}
            return {"row": row} if path.endswith("/preview") else {"message": "基数调整清册录入成功", "row": row}
        return super().request(method, path, params, json)


@pytest.fixture
def member(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMember]:
    SPECS["base_adjustment"] = SPEC
    fake = FakeAdjust()
    for found in fake_member(monkeypatch):
        monkeypatch.setattr(found, "request", fake.request)
        fake.calls = found.calls
        yield fake
    del SPECS["base_adjustment"]


def test_the_single_entry_tab_offers_the_picker_echo_category_and_preview(member: FakeMember) -> None:
    member.rows = [{"id": 5, "member_no": "1001000010", "name": "张三", "new_amount": "1920.00"}]
    page = operator(PERMS).get("/members/base-adjust").get_data(as_text=True)
    assert "<h1>基数调整</h1>" in page and 'aria-current="page">单笔录入</a>' in page
    assert 'id="member-picker"' in page and 'data-status="01"' in page  # only normal members
    for echo in ("echo-name", "echo-id", "echo-base", "echo-amount"):
        assert f'id="{echo}"' in page
    assert '<option value="base" selected>个人缴存基数</option>' in page and "缴存比例</option>" in page
    # Only the chosen category's inputs show (the script switches them).
    assert re.search(r'<div data-category="amount" hidden>\s*<label>新月缴存额', page)
    assert re.search(r'<div data-category="base">\s*<label>新缴存基数', page)
    assert 'data-preview="/members/base-adjust/preview"' in page and 'id="preview"' in page
    assert ">录入清册</button>" in page
    assert '<input type="checkbox" name="row_ids" value="5" form="commit-form"' in page and ">保存</button>" in page
    assert 'data-confirm="确定删除该条记录？"' in page and 'id="confirm-dialog"' in page


def test_an_entry_goes_to_the_roster_and_a_refusal_keeps_the_echo(member: FakeMember) -> None:
    client = operator(PERMS)
    form = {"member_no": "1001000010", "category": "base", "base": "8000", "effective_month": "202612",
            "echo_name": "张三", "echo_base": "4000.00", "echo_amount": "960.00"}
    answer = client.post("/members/base-adjust", data=form)
    assert answer.status_code == 302 and answer.headers["Location"] == "/members/base-adjust"
    posted = [(p, body) for m, p, _, body in member.calls if m == "POST"]
    assert posted == [(f"/employers/{EMP}/rosters/base_adjustment/rows", {"values": {
        "member_no": "1001000010", "category": "base", "base": "8000", "amount": "", "employer_ratio": "",
        "personal_ratio": "", "effective_month": "202612"}})]
    assert flashed(client.get("/members/base-adjust").get_data(as_text=True)) == ["缴存人登记清册录入成功"]
    member.refuse = ServiceError("member", 422, "新缴存基数：张三（1001000010）的缴存基数99999.00元高于上限26952.00元",
                                 {"json": {"base": ["张三（1001000010）的缴存基数99999.00元高于上限26952.00元"]}})
    page = client.post("/members/base-adjust", data={**form, "base": "99999"}).get_data(as_text=True)
    assert flashed(page) == ["新缴存基数：张三（1001000010）的缴存基数99999.00元高于上限26952.00元"]
    assert 'id="echo-base" name="echo_base" value="4000.00"' in page and 'value="99999"' in page
    assert '<span class="field-error" id="error-base">' in page


def test_the_echo_and_the_preview_ask_the_owner(member: FakeMember) -> None:
    client = operator(PERMS)
    found = client.get("/members/base-adjust/member?member_no=1001000010", headers={"Accept": "application/json"})
    assert found.get_json()["member"]["amount"] == "960.00"
    assert (GRID + "/grid", {"member_no": "1001000010", "per_page": 1}) in [(p, q) for _, p, q, _ in member.calls]
    shown = client.post("/members/base-adjust/preview", json={"values": {"member_no": "1001000010", "base": "8000"}})
    assert shown.status_code == 200 and shown.get_json()["row"]["new_amount"] == "1920.00"
    member.refuse = ServiceError("member", 422, "生效年月：该年月无生效的政策参数，请联系公积金中心", {})
    refused = client.post("/members/base-adjust/preview", json={"values": {"member_no": "1001000010"}})
    assert refused.status_code == 422 and "无生效的政策参数" in refused.get_json()["message"]
    member.grid_items = []  # 封存 or another employer's: not offered
    assert client.get("/members/base-adjust/member?member_no=1001000099").status_code == 404


def test_the_grid_tab_lists_members_with_a_cell_per_category_and_records_a_cell(member: FakeMember) -> None:
    client = operator(PERMS)
    page = client.get("/members/base-adjust?tab=grid&category=ratio&q=张").get_data(as_text=True)
    assert (GRID + "/grid", {"page": 1, "per_page": 20, "category": "ratio", "q": "张"}) in [
        (p, q) for _, p, q, _ in member.calls]
    assert 'aria-label="张三（1001000010）的新单位缴存比例"' in page and 'name="personal_ratio"' in page
    assert 'id="grid-search-button">搜索</button>' in page and 'id="grid-month"' in page
    assert 'id="grid-next"' in page and "共41人" in page
    member.grid_items = [{**ITEM, "state": "pending", "row": {"id": 3, "category": "base", "base": "8000.00",
                                                               "new_amount": "1920.00"}}]
    page = client.get("/members/base-adjust?tab=grid&category=base").get_data(as_text=True)
    assert re.search(r'<input class="cell" name="base" value="8000.00"[^>]* disabled>', page)
    assert "审批中，不得重复提交" in page
    recorded = client.post("/members/base-adjust/grid/1001000010",
                           json={"values": {"member_no": "1001000010", "category": "base", "base": "8000"}})
    assert recorded.status_code == 200 and recorded.get_json()["row"]["id"] == 9
    assert ("PUT", f"/employers/{EMP}/rosters/base_adjustment/rows/by-claim/1001000010") in [
        (m, p) for m, p, _, _ in member.calls]
    member.refuse = ServiceError("member", 409,
                                 "缴存人张三（1001000010）已在清册中或有已提交审核但未审批的业务，不得重复提交")
    held = client.post("/members/base-adjust/grid/1001000010", json={"values": {"member_no": "1001000010"}})
    assert held.status_code == 409 and "不得重复提交" in held.get_json()["message"]
    assert client.post("/members/base-adjust/grid/..%2F1", json={}).status_code == 404


def test_the_import_tab_offers_the_categorys_template_and_shows_an_unsettled_import_first(
        member: FakeMember) -> None:
    client = operator(PERMS)
    page = client.get("/members/base-adjust?tab=import").get_data(as_text=True)
    assert 'href="/members/roster/base_adjustment/template?option=base"' in page
    assert '<option value="ratio">缴存比例</option>' in page and 'id="import-file"' in page
    member.current = {"id": 3, "business_type": "base_adjustment", "file_name": "调基.xlsx", "status": "checked",
                      "total": 3, "done": 3, "good": 1, "bad": 2,
                      "errors": [{"row": 3, "field": "个人账号", "reason": "缴存人李四当前状态为封存"}]}
    page = client.get("/members/base-adjust").get_data(as_text=True)
    assert 'aria-current="page">批量导入</a>' in page and "第3行 个人账号：缴存人李四当前状态为封存" in page
    answer = client.post("/members/roster/base_adjustment/imports/3/accept")
    assert answer.headers["Location"] == "/members/base-adjust"


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/members/base-adjust"), ("POST", "/members/base-adjust"), ("GET", "/members/base-adjust/member"),
    ("POST", "/members/base-adjust/preview"), ("POST", "/members/base-adjust/grid/1001000010"),
    ("POST", "/members/roster/base_adjustment/commit"),
])
def test_an_account_without_base_adjust_is_refused(member: FakeMember, method: str, path: str) -> None:
    answer = operator(["seal", "member_query"]).open(path, method=method, data={"row_ids": "1"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert member.calls == []
