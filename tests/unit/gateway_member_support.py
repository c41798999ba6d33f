"""A fake member service for the gateway's member pages, answering as the member service's routes do
(hall_common/roster_api.py, hall_common/queries.py), and an operator's client with given permissions."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway import create_app
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


def fake_member(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMember]:
    """The member service's calls answered by a FakeMember (each test module's ``member`` fixture)."""
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

