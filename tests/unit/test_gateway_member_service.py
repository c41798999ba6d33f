"""The gateway's member pages against the real member service app (in process): the pages drawn from
its form specs, 录入清册 with its refusal at the field, an upload checked and its errors listed, the
type-ahead, 确定封存 of a chosen row, and a query with its export and print streamed through."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from gateway import create_app
from hall_common.client import ServiceClient, ServiceError
from hall_common.permissions import ALL_PERMISSIONS

from .conftest import EMPLOYER_NO, make_app, token_for
from .member_support import filled, registration, resident_id

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Streamed:
    def __init__(self, data: bytes, headers: Any) -> None:
        self.data, self.headers, self.status = data, headers, 200

    def stream(self, amount: int, decode_content: bool = True) -> Iterator[bytes]:
        for start in range(0, len(self.data), amount):
            yield self.data[start:start + amount]

    def release_conn(self) -> None:
        pass


@pytest.fixture
def member(monkeypatch: pytest.MonkeyPatch) -> Flask:
    app = make_app("member")

    def call(client: ServiceClient, method: str, path: str, params: Any, body: Any = None, json: Any = None,
             content_type: str | None = None) -> Any:
        assert client.service == "member"
        query = ("?" + urlencode(params, doseq=True)) if params else ""
        headers = dict(client.headers)
        if content_type:
            headers["Content-Type"] = content_type
        response = app.test_client().open(path + query, method=method, json=json, data=body, headers=headers)
        if response.status_code >= 400:
            found = response.get_json() or {}
            raise ServiceError("member", response.status_code, found.get("message", ""), found.get("errors"))
        return response

    monkeypatch.setattr(ServiceClient, "request", lambda self, method, path, params=None, json=None:
                        call(self, method, path, params, json=json).get_json())
    monkeypatch.setattr(ServiceClient, "upload", lambda self, path, data, content_type, params=None:
                        call(self, "POST", path, params, body=data, content_type=content_type).get_json())
    monkeypatch.setattr(ServiceClient, "stream", lambda self, method, path, params=None, body=None,
                        content_type=None: (lambda r: Streamed(r.data, r.headers))(call(self, method, path, params)))
    return app


def operator() -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": token_for(), "expires_at": time.time() + 3600, "last_active": time.time(),
            "sound_enabled": False, "principal": {"name": "王晓燕", "sub": EMPLOYER_NO, "emp": EMPLOYER_NO,
                                                  "emp_name": "太原市示例科技有限公司", "perms": ALL_PERMISSIONS}}
    return client


def alerts(page: str) -> list[str]:
    return re.findall(r'role="alert">([^<]*)</div>', page)


def found(pattern: str, page: str) -> str:
    match = re.search(pattern, page)
    assert match is not None, pattern
    return match.group(1)


def test_registration_entry_upload_and_commit_through_the_gateway(member: Flask) -> None:
    client = operator()
    page = client.get("/members/register").get_data(as_text=True)
    assert "<h1>缴存人登记</h1>" in page and ">确认开户</button>" in page and 'id="import-option"' in page
    refused = client.post("/members/register", data=registration("张三", "1101051990"))
    page = refused.get_data(as_text=True)
    assert re.search(r'id="error-id_number">[^<]*18位', page), alerts(page)
    assert 'value="1101051990"' in page
    done = client.post("/members/register", data=registration("张三", resident_id(1)), follow_redirects=True)
    page = done.get_data(as_text=True)
    assert alerts(page) == ["开户清册录入成功"]
    assert "<td>张三</td>" in page
    # The template, filled with one good and one bad row, uploaded through the gateway.
    template = client.get("/members/roster/member_registration/template?option=12")
    assert template.status_code == 200 and template.mimetype == XLSX
    labels = [c.value for c in load_workbook(BytesIO(template.data)).worksheets[0][1]]
    good = {"姓名": "李四", "证件类型": "居民身份证", "证件号码": resident_id(2), "缴存基数": "5000",
            "首次缴存年月": "202612", "手机号码": "13800000000"}
    lines = [[good.get(x, "") for x in labels], [{**good, "证件号码": "1101051990"}.get(x, "") for x in labels]]
    content = filled(template.data, lines)
    uploaded = client.post("/members/roster/member_registration/imports", content_type="multipart/form-data",
                           data={"option": "12", "file": (BytesIO(content), "名单.xlsx")}, follow_redirects=True)
    page = uploaded.get_data(as_text=True)
    assert alerts(page) == ["共2行，正确1行，错误1行"]
    errors = re.findall(r"<li>([^<]+)</li>", page.split('id="import-errors"')[1].split("</ul>")[0])
    assert errors == ["第3行 证件号码：应为18位居民身份证号码（请以文本格式填写）"]
    marked = client.get(found(r'id="marked-link" href="([^"]+)"', page))
    assert marked.status_code == 200 and marked.mimetype == XLSX
    accepted = client.post(found(r'action="([^"]+/accept)"', page), follow_redirects=True)
    page = accepted.get_data(as_text=True)
    assert alerts(page) == ["已将1行正确数据录入清册"] and "<td>李四</td>" in page
    committed = client.post("/members/roster/member_registration/commit", data={"scope": "all"},
                            follow_redirects=True)
    assert alerts(committed.get_data(as_text=True)) == ["已确认开户，开户结果将以消息通知"]
    assert "清册中暂无记录" in committed.get_data(as_text=True)


def test_seal_with_the_picker_and_a_query_with_its_files(member: Flask) -> None:
    client = operator()
    matches = client.get("/members/search?q=1&status=01").get_json()["items"]
    assert matches and all(m["status"] == "01" for m in matches)
    chosen = matches[0]
    page = client.get("/members/seal").get_data(as_text=True)
    first_choice = (r'<select name="(\w+)" id="field-\w+"[^>]*>\s*<option value="">请选择</option>\s*'
                    r'<option value="([^"]+)"')
    options = dict(re.findall(first_choice, page))
    values = {"member_no": chosen["member_no"], **options}
    for name in re.findall(r'<input name="(\w+)" id="field-\w+"[^>]*type="date"', page):
        values[name] = time.strftime("%Y-%m-%d")
    added = client.post("/members/seal", data=values, follow_redirects=True).get_data(as_text=True)
    assert alerts(added) == ["缴存人状态变更清册录入成功"]
    row_id = found(r'name="row_ids" value="(\d+)"', added)
    committed = client.post("/members/roster/member_seal/commit", data={"scope": "selected", "row_ids": row_id},
                            follow_redirects=True).get_data(as_text=True)
    assert alerts(committed) == ["已确定封存，办理结果将以消息通知"]
    page = client.get("/members/query?tab=member-accounts&run=1").get_data(as_text=True)
    assert 'id="query-results"' in page, alerts(page)
    export = client.get("/members/query/member-accounts/export")
    assert export.status_code == 200 and export.data[:2] == b"PK", export.data[:200]
    printed = client.get("/members/query/member-accounts/print")
    assert printed.status_code == 200 and printed.data[:4] == b"%PDF"
    assert printed.headers["Content-Disposition"].startswith("inline")
    bad = client.get("/members/query?run=1&open_from=2026-13-01").get_data(as_text=True)
    assert alerts(bad) == ["开户日期（起）：应为有效日期（YYYY-MM-DD）"]
