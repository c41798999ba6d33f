"""The roster pages (缴存人登记, 封存, 启封) and 缴存人信息查询 through the gateway, with the member
service replaced by a fake that answers as CONTRACT16 §3/§4 says: the page drawn from the form spec,
录入清册 and its refusal shown at the fields, the upload forwarded as the file's raw bytes, files
streamed through without being held whole, the member type-ahead, and an account without the
permission sent home."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway import create_app
from hall_common import client as client_module
from hall_common.client import ServiceClient, ServiceError

EMP = "100100001"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REGISTRATION_SPEC = {
    "type": "member_registration", "title": "缴存人登记", "entry_label": "录入清册", "entry_message": "",
    "commit_label": "确认开户", "commit_scope": "all",
    "fields": [
        {"key": "name", "label": "姓名", "kind": "text", "choices": [], "required": True, "default": None},
        {"key": "id_number", "label": "证件号码", "kind": "id", "choices": [], "required": True, "default": None},
        {"key": "base", "label": "缴存基数", "kind": "money", "choices": [], "required": True, "default": None},
        {"key": "open_month", "label": "起缴年月", "kind": "month", "choices": [], "required": True, "default": None},
    ],
    "columns": [{"key": "name", "label": "姓名"}, {"key": "id_number", "label": "证件号码"},
                {"key": "base", "label": "缴存基数"}],
    "import_option": {"key": "ratio", "label": "选择缴存比例",
                      "choices": [{"value": "12", "label": "12%"}, {"value": "5", "label": "5%"}]},
}
SEAL_SPEC = {
    "type": "member_seal", "title": "封存", "entry_label": "录入清册", "entry_message": "",
    "commit_label": "确定封存", "commit_scope": "selected",
    "fields": [
        {"key": "member_no", "label": "个人账号", "kind": "member", "choices": [], "required": True, "default": None},
        {"key": "reason", "label": "封存原因", "kind": "choice", "choices": ["离职", "退休"], "required": True,
         "default": None},
    ],
    "columns": [{"key": "member_no", "label": "个人账号"}, {"key": "name", "label": "姓名"},
                {"key": "reason", "label": "封存原因"}],
    "import_option": None,
}
SPECS = {"member_registration": REGISTRATION_SPEC, "member_seal": SEAL_SPEC, "member_unseal": {
    **SEAL_SPEC, "type": "member_unseal", "title": "启封", "commit_label": "确定启封"}}


class FakeMember:
    """The member service as the gateway calls it; each call is kept as (method, path, params, body)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.refuse: ServiceError | None = None
        self.members = [{"member_no": f"90000000{i:02d}", "name": f"张{i}", "id_number": "110101199003077777",
                         "status": "01", "status_name": "正常"} for i in range(12)]

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        self.calls.append((method, path, params, json))
        if self.refuse is not None and method != "GET":
            raise self.refuse
        if found := re.fullmatch(r"/rosters/(\w+)/form", path):
            return SPECS[found.group(1)]
        if re.fullmatch(rf"/employers/{EMP}/rosters/\w+", path):
            return {"items": self.rows, "total": len(self.rows), "page": 1, "per_page": 20}
        if path.endswith("/imports/current"):
            return {"import": self.current}
        if found := re.fullmatch(rf"/employers/{EMP}/imports/(\d+)", path):
            return {"import": self.current}
        if path.endswith("/rows") and method == "POST":
            return {"message": "缴存人登记清册录入成功", "row": {"id": 1, **json}}
        if path.endswith("/commit"):
            return {"message": "缴存人登记提交成功", "business_id": 7, "row_count": len(self.rows)}
        if "/rows/" in path and method == "DELETE":
            return {"message": "删除成功"}
        if path.endswith(("/accept", "/discard")):
            return {"message": "已导入正确数据", "import": self.current}
        if path.endswith("/members/search"):
            return self.members
        if "/queries/" in path:
            return {"title": "缴存人账户信息", "columns": [{"key": "member_no", "label": "个人账号"},
                                                        {"key": "balance", "label": "账户余额"}],
                    "items": [{"member_no": "9000000001", "balance": "1234.50"}], "total": 41, "page": 1,
                    "per_page": 20}
        raise AssertionError(f"unexpected call {method} {path}")

    def upload(self, path: str, data: bytes, content_type: str, params: dict[str, Any] | None = None) -> Any:
        self.calls.append(("UPLOAD", path, params, (data, content_type)))
        return {"message": "文件已上传，正在检查",
                "import": {"id": 3, "status": "queued", "total": 0, "done": 0, "message": ""}}

    def paths(self, method: str) -> list[str]:
        return [path for m, path, _, _ in self.calls if m == method]


@pytest.fixture
def member(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMember]:
    fake = FakeMember()

    def request(self: ServiceClient, method: str, path: str, params: dict[str, Any] | None = None,
                json: Any = None) -> Any:
        assert self.service == "member"
        return fake.request(method, path, params, json)

    monkeypatch.setattr(ServiceClient, "request", request)
    monkeypatch.setattr(ServiceClient, "upload", lambda self, *a, **kw: fake.upload(*a, **kw))
    yield fake


def operator(perms: list[str]) -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": "t", "expires_at": time.time() + 3600, "last_active": time.time(), "sound_enabled": False,
            "principal": {"name": "王晓燕", "sub": "wangxy", "emp": EMP, "emp_name": "太原市示例科技有限公司",
                          "perms": perms}}
    return client


ALL = ["member_register", "seal", "unseal", "member_query"]


def flashed(page: str) -> list[str]:
    return re.findall(r'role="alert">([^<]*)</div>', page)


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


def test_the_client_posts_the_bytes_and_reads_a_refusal_of_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[dict[str, Any]] = []

    class Answer:
        def __init__(self, status: int, data: bytes) -> None:
            self.status, self.data, self.released = status, data, False

        def read(self) -> bytes:
            return self.data

        def release_conn(self) -> None:
            self.released = True

    answers = [Answer(202, b'{"import": {"id": 3, "status": "checked"}}'),
               Answer(422, '{"message": "打印内容超过5000条，请缩小查询范围后打印"}'.encode())]

    class Pool:
        def request(self, method: str, url: str, **kw: Any) -> Answer:
            sent.append({"method": method, "url": url, **kw})
            return answers.pop(0)

    monkeypatch.setattr(client_module, "_http", lambda: Pool())
    member = ServiceClient("member", "tok", base_url="http://member")
    assert member.upload("/x/imports", b"\x00\x01xlsx", XLSX, {"option": "12", "file_name": "名单 1.xlsx"}) == {
        "import": {"id": 3, "status": "checked"}}
    assert sent[0]["body"] == b"\x00\x01xlsx"
    assert sent[0]["url"] == "http://member/x/imports?option=12&file_name=%E5%90%8D%E5%8D%95+1.xlsx"
    assert sent[0]["headers"]["Content-Type"] == XLSX
    assert sent[0]["headers"]["Authorization"] == "Bearer tok"
    with pytest.raises(ServiceError) as refused:
        member.stream("GET", "/q/print")
    assert refused.value.status == 422 and refused.value.message == "打印内容超过5000条，请缩小查询范围后打印"
    assert sent[1]["preload_content"] is False
    assert sent[1]["timeout"].read_timeout >= 60


class Upstream:
    """A file answer from the service, its chunks produced only when asked for."""

    def __init__(self, chunks: int, disposition: str) -> None:
        self.headers = {"Content-Type": XLSX, "Content-Disposition": disposition}
        self.produced = 0
        self.total = chunks
        self.released = False

    def stream(self, amount: int, decode_content: bool = True) -> Iterator[bytes]:
        for _ in range(self.total):
            self.produced += 1
            yield b"x" * amount

    def release_conn(self) -> None:
        self.released = True


def test_an_export_is_passed_on_chunk_by_chunk(member: FakeMember, monkeypatch: pytest.MonkeyPatch) -> None:
    upstream = Upstream(50, "attachment; filename*=UTF-8''%E7%BC%B4%E5%AD%98.xlsx")
    asked: list[tuple[str, Any]] = []

    def stream(self: ServiceClient, method: str, path: str, params: Any = None, **kw: Any) -> Upstream:
        asked.append((path, params))
        return upstream

    monkeypatch.setattr(ServiceClient, "stream", stream)
    answer = operator(ALL).get("/members/query/member-accounts/export?open_from=2026-01-01&member_no=&x=1",
                               buffered=False)
    assert asked == [(f"/employers/{EMP}/queries/member-accounts/export", {"open_from": "2026-01-01"})]
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == upstream.headers["Content-Disposition"]
    # The test client reads the first chunk to see the answer start; the rest waits for the browser.
    assert upstream.produced <= 1
    body = iter(answer.response)
    assert len(next(body)) == 64 * 1024 and len(next(body)) == 64 * 1024 and upstream.produced == 2
    assert sum(len(chunk) for chunk in body) == 48 * 64 * 1024
    answer.close()
    assert upstream.released


def test_a_print_opens_inline_and_a_refusal_is_shown_on_the_query_page(
        member: FakeMember, monkeypatch: pytest.MonkeyPatch) -> None:
    upstream = Upstream(1, "attachment; filename*=UTF-8''a.pdf")
    upstream.headers["Content-Type"] = "application/pdf"
    monkeypatch.setattr(ServiceClient, "stream", lambda self, *a, **kw: upstream)
    client = operator(ALL)
    answer = client.get("/members/query/member-changes/print")
    assert answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"] == "inline; filename*=UTF-8''a.pdf"

    def refuse(self: ServiceClient, *a: Any, **kw: Any) -> Any:
        raise ServiceError("member", 422, "打印内容超过5000条，请缩小查询范围后打印")

    monkeypatch.setattr(ServiceClient, "stream", refuse)
    refused = client.get("/members/query/member-changes/print?start_date=2026-01-01")
    assert refused.status_code == 302
    assert refused.headers["Location"] == "/members/query?tab=member-changes&run=1&start_date=2026-01-01"
    with client.session_transaction() as session:
        assert session["_flashes"] == [("error", "打印内容超过5000条，请缩小查询范围后打印")]
    assert client.get("/members/query/no-such/print").status_code == 404


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


def test_the_query_tabs_send_their_filters_and_page(member: FakeMember) -> None:
    client = operator(["member_query"])
    page = client.get("/members/query").get_data(as_text=True)
    assert [t for t in re.findall(r'data-tab="([\w-]+)"', page)] == [
        "member-accounts", "member-changes", "member-status-changes"]
    assert 'id="query-form"' in page and "query-results" not in page  # nothing asked before 查询
    assert member.calls == []
    page = client.get("/members/query?tab=member-status-changes&run=1&change_type=05&member_no=9000000001"
                      "&start_date=&page=2").get_data(as_text=True)
    assert [(p, params) for _, p, params, _ in member.calls] == [
        (f"/employers/{EMP}/queries/member-status-changes",
         {"member_no": "9000000001", "change_type": "05", "page": 2, "per_page": 20})]
    assert '<option value="05" selected>封存</option>' in page
    assert "<td>1234.50</td>" in page and "<td>21</td>" in page  # page 2 numbers from 21
    assert 'id="print" href="/members/query/member-status-changes/print?' in page and 'target="_blank"' in page
    assert 'id="download" href="/members/query/member-status-changes/export?' in page


def test_a_refused_query_names_the_filter(member: FakeMember, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: ServiceClient, method: str, path: str, **kw: Any) -> Any:
        raise ServiceError("member", 422, "查询条件有误", {"query": {"open_to": ["结束日期不能早于开始日期"]}})

    monkeypatch.setattr(ServiceClient, "request", refuse)
    page = operator(["member_query"]).get("/members/query?run=1&open_from=2026-02-01&open_to=2026-01-01") \
        .get_data(as_text=True)
    assert flashed(page) == ["开户日期（止）：结束日期不能早于开始日期"]
    assert 'value="2026-02-01"' in page


def test_the_login_page_says_printing_needs_nothing_installed() -> None:
    page = create_app().test_client().get("/login").get_data(as_text=True)
    hint = re.search(r'id="print-hint">([^<]+)<', page)
    assert hint is not None and "无需安装" in hint.group(1)


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
