"""The roster pages (缴存人登记, 封存, 启封) through the gateway, with the member service replaced by a
fake: the page drawn from the form spec, 录入清册 and its refusal shown at the fields, the upload
forwarded as the file's raw bytes, the commit, the import's progress and errors, the member
type-ahead, and an account without the permission sent home."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO

import pytest

from gateway import create_app
from hall_common.client import ServiceError

from .gateway_member_support import ALL, EMP, XLSX, FakeMember, fake_member, flashed, operator


@pytest.fixture
def member(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMember]:
    yield from fake_member(monkeypatch)

def test_the_registration_page_is_drawn_from_the_spec(member: FakeMember) -> None:
    member.rows = [{"id": 5, "name": "李四", "id_number": "110101199003074477", "base": "3000.00"}]
    page = operator(ALL).get("/members/register").get_data(as_text=True)
    assert '<h1>缴存人登记</h1>' in page
    for label in ("姓名", "证件号码", "缴存基数", "起缴年月"):
        assert f"<label>{label}" in page
    assert 'id="entry-form"' in page and ">录入清册</button>" in page
    assert 'id="import-form"' in page and "选择缴存比例" in page and '<option value="5">5%</option>' in page
    assert 'href="/members/roster/member_registration/template?option=12"' in page
    assert re.search(r'<tr data-row-id="5">\s*<td>1</td>\s*<td>李四</td>', page)
    assert 'id="commit"' in page and ">确认开户</button>" in page
    assert 'name="row_ids"' not in page  # scope "all": no checkboxes
    assert 'data-confirm="确定删除该条记录？"' in page and 'id="confirm-dialog"' in page


def test_seal_offers_the_member_picker_and_a_checkbox_per_row(member: FakeMember) -> None:
    member.rows = [{"id": 8, "member_no": "9000000001", "name": "张1", "reason": "离职"}]
    page = operator(ALL).get("/members/seal").get_data(as_text=True)
    assert 'id="member-picker"' in page and 'id="echo-name"' in page and 'id="echo-id"' in page
    assert 'data-status="01"' in page  # only normal members may be sealed
    assert '<input type="checkbox" name="row_ids" value="8" form="commit-form"' in page
    assert ">确定封存</button>" in page
    assert 'data-status="02"' in operator(ALL).get("/members/unseal").get_data(as_text=True)


def test_an_entry_is_sent_with_every_field_and_its_message_shown(member: FakeMember) -> None:
    client = operator(ALL)
    answer = client.post("/members/register", data={"name": "李四", "id_number": "110101199003074477",
                                                    "base": " 3000 ", "open_month": ""})
    assert answer.status_code == 302 and answer.headers["Location"] == "/members/register"
    posted = [(p, body) for m, p, _, body in member.calls if m == "POST"]
    assert posted == [(f"/employers/{EMP}/rosters/member_registration/rows", {"values": {
        "name": "李四", "id_number": "110101199003074477", "base": "3000", "open_month": ""}})]
    assert flashed(client.get("/members/register").get_data(as_text=True)) == ["缴存人登记清册录入成功"]


def test_a_refused_entry_keeps_its_values_and_shows_each_reason_at_its_field(member: FakeMember) -> None:
    member.refuse = ServiceError("member", 422, "录入内容有误", {"json": {
        "id_number": ["校验位不正确"], "open_month": ["不能为空"]}})
    answer = operator(ALL).post("/members/seal", data={"member_no": "9000000001", "reason": "退休",
                                                       "echo_name": "张1", "echo_id_number": "110101199003077777"})
    page = answer.get_data(as_text=True)
    assert flashed(page) == ["录入内容有误"]
    assert 'name="member_no" value="9000000001"' in page and 'id="echo-name" name="echo_name" value="张1"' in page
    assert '<option value="退休" selected>' in page
    member.refuse = ServiceError("member", 422, "录入内容有误", {"json": {"id_number": ["校验位不正确"]}})
    page = operator(ALL).post("/members/register", data={"name": "李四", "id_number": "11010119900307447X"}) \
        .get_data(as_text=True)
    assert 'value="11010119900307447X"' in page
    assert '<span class="field-error" id="error-id_number">校验位不正确</span>' in page
    assert 'id="field-id_number"' in page and 'aria-describedby="error-id_number"' in page
    # The entry schema's own refusal names the field under "values".
    member.refuse = ServiceError("member", 422, "请求参数有误", {"json": {"values": {"name": ["长度不能超过200"]}}})
    page = operator(ALL).post("/members/register", data={"name": "李四"}).get_data(as_text=True)
    assert '<span class="field-error" id="error-name">长度不能超过200</span>' in page


def test_an_upload_goes_on_as_the_files_raw_bytes_with_the_option(member: FakeMember) -> None:
    data = b"PK\x03\x04" + bytes(range(256)) * 40  # binary, as an xlsx is
    client = operator(ALL)
    answer = client.post("/members/roster/member_registration/imports", content_type="multipart/form-data",
                         data={"option": "5", "file": (BytesIO(data), "职工名单.xlsx")})
    assert answer.status_code == 302 and answer.headers["Location"] == "/members/register"
    uploads = [(path, params, body) for m, path, params, body in member.calls if m == "UPLOAD"]
    assert uploads == [(f"/employers/{EMP}/rosters/member_registration/imports",
                        {"option": "5", "file_name": "职工名单.xlsx"}, (data, XLSX))]
    assert flashed(client.get("/members/register").get_data(as_text=True)) == ["文件已上传，正在检查"]
    # No file chosen: said so, nothing sent.
    member.calls.clear()
    none = client.post("/members/roster/member_registration/imports", data={"option": "5"})
    assert none.status_code == 302 and member.paths("UPLOAD") == []


def test_the_member_search_is_proxied_with_the_pickers_status(member: FakeMember) -> None:
    client = operator(["seal"])
    found = client.get("/members/search?q=%E5%BC%A0&status=01").get_json()
    assert [m["member_no"] for m in found["items"]] == [f"90000000{i:02d}" for i in range(10)]  # 10 at most
    assert set(found["items"][0]) == {"member_no", "name", "id_number", "status", "status_name"}
    assert [(p, params) for m, p, params, _ in member.calls] == [
        (f"/employers/{EMP}/members/search", {"q": "张", "status": "01"})]
    assert client.get("/members/search?q=+&status=01").get_json() == {"items": []}  # nothing typed: not asked
    assert len(member.calls) == 1
    member.calls.clear()
    refused = operator(["employer_change"]).get("/members/search?q=1")
    assert refused.status_code == 403 and refused.get_json() == {"message": "当前账号无权办理该业务"}
    assert member.calls == []


@pytest.mark.parametrize(("method", "path", "perms"), [
    ("GET", "/members/register", ["seal", "unseal", "member_query"]),
    ("POST", "/members/register", ["seal", "unseal", "member_query"]),
    ("GET", "/members/seal", ["member_register", "unseal", "member_query"]),
    ("GET", "/members/unseal", ["member_register", "seal", "member_query"]),
    ("POST", "/members/roster/member_unseal/commit", ["member_register", "seal"]),
    ("POST", "/members/roster/member_seal/imports", ["member_register", "unseal"]),
    ("POST", "/members/roster/member_seal/rows/1/delete", ["unseal"]),
    ("POST", "/members/roster/member_registration/imports/3/accept", ["seal"]),
    ("GET", "/members/roster/member_registration/template", ["seal"]),
    ("GET", "/members/query", ["member_register", "seal", "unseal"]),
    ("GET", "/members/query/member-accounts/export", ["member_register"]),
    ("GET", "/members/query/member-accounts/print", []),
])
def test_an_account_without_the_permission_is_sent_home(member: FakeMember, method: str, path: str,
                                                        perms: list[str]) -> None:
    client = operator(perms)
    answer = client.open(path, method=method, data={"row_ids": "1"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/"
    assert member.calls == []  # nothing asked of the service on the account's behalf
    with client.session_transaction() as session:
        assert session["_flashes"] == [("error", "当前账号无权办理该业务")]


def test_commit_sends_the_chosen_rows_or_asks_for_a_choice(member: FakeMember) -> None:
    client = operator(ALL)
    answer = client.post("/members/roster/member_seal/commit", data={"scope": "selected", "row_ids": ["8", "9"]})
    assert answer.headers["Location"] == "/members/seal"
    assert [(p, body) for m, p, _, body in member.calls if m == "POST"] == [
        (f"/employers/{EMP}/rosters/member_seal/commit", {"row_ids": [8, 9]})]
    member.calls.clear()
    client.post("/members/roster/member_seal/commit", data={"scope": "selected"})
    assert member.paths("POST") == []
    client.post("/members/roster/member_registration/commit", data={"scope": "all"})
    assert [body for m, _, _, body in member.calls if m == "POST"] == [{"row_ids": []}]
    member.refuse = ServiceError("member", 409, "清册已提交或已变化，请刷新后重试")
    client.post("/members/roster/member_registration/commit", data={"scope": "all"})
    assert "清册已提交或已变化，请刷新后重试" in flashed(client.get("/members/register").get_data(as_text=True))


def test_an_import_being_checked_shows_its_progress_and_a_checked_one_its_errors(member: FakeMember) -> None:
    client = operator(ALL)
    member.current = {"id": 3, "business_type": "member_registration", "file_name": "名单.xlsx",
                      "status": "running", "total": 1000, "done": 250, "good": 0, "bad": 0, "errors": []}
    page = client.get("/members/register").get_data(as_text=True)
    assert '<progress id="import-progress" max="1000" value="250">' in page
    assert 'data-poll="/members/roster/member_registration/imports/3"' in page
    polled = client.get("/members/roster/member_registration/imports/3").get_json()
    assert polled["import"]["done"] == 250 and polled["import"]["status"] == "running"
    # Another business's import is not this page's.
    assert client.get("/members/roster/member_seal/imports/3").status_code == 404
    member.current = {**member.current, "status": "checked", "done": 1000, "good": 998, "bad": 2,
                      "errors": [{"row": 3, "field": "证件号码", "reason": "校验位不正确"},
                                 {"row": 7, "field": "", "reason": "该缴存人已在清册中"}]}
    page = client.get("/members/register").get_data(as_text=True)
    assert "import-progress" not in page
    assert re.findall(r"<li>([^<]+)</li>", page.split('id="import-errors"')[1].split("</ul>")[0]) == [
        "第3行 证件号码：校验位不正确", "第7行 该缴存人已在清册中"]
    assert 'id="marked-link" href="/members/roster/member_registration/imports/3/marked"' in page
    assert 'id="accept-import"' in page and 'id="discard-import"' in page
    answer = client.post("/members/roster/member_registration/imports/3/accept")
    assert answer.headers["Location"] == "/members/register"
    assert f"/employers/{EMP}/imports/3/accept" in member.paths("POST")


def test_every_member_page_refuses_an_account_without_its_permission(member: FakeMember) -> None:
    """Every route under /members, including ones added later: an account holding none of the member
    permissions is sent home (a script: 403 in JSON), and no service is asked on its behalf."""
    app = create_app({"WTF_CSRF_ENABLED": False})
    sample = {"type_": "member_seal", "name": "member-accounts", "action": "accept"}
    swept = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/members"):
            continue
        path = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                      lambda m: "1" if m.group(1) == "int" else sample.get(m.group(2), "x1"), rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = operator(["employer_change", "employer_info"]).open(
                path + "?q=1", method=method, data={"row_ids": "1"}, headers={"Accept": "text/html"})
            if answer.status_code == 403:
                assert answer.get_json() == {"message": "当前账号无权办理该业务"}, path
            else:
                assert (answer.status_code, answer.headers["Location"]) == (302, "/"), f"{method} {path}"
            swept += 1
    assert swept >= 15
    assert member.calls == []
