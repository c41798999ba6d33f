"""query_blueprint: one declaration gives a paged list, a streamed xlsx export and a PDF print, each
for the employer's own operators with the right permission (and the center), with ordered dates."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from marshmallow import Schema, fields
from openpyxl import load_workbook
from pypdf import PdfReader

from hall_common import migrate
from hall_common.app import create_service_app
from hall_common.queries import QueryDef, query_blueprint
from hall_common.security import KeyProvider
from hall_common.sheets import SheetColumn

from .conftest import EMPLOYER_NO, OTHER_EMPLOYER_NO, auth, token_for

URL = f"/employers/{EMPLOYER_NO}/queries/member-accounts"
TITLE = "缴存人账户信息"
ROWS: list[dict[str, Any]] = [{"member_no": f"{i:06d}", "name": f"职工{i}", "open_date": date(2024, 1, 1 + i % 28),
         "balance": Decimal("1234.5") + i} for i in range(45)]


class AccountFilters(Schema):
    member_no = fields.String(metadata={"description": "个人账号"})
    open_from = fields.Date()
    open_to = fields.Date()


calls: list[tuple[str, dict[str, Any]]] = []


def matching(employer_no: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
    calls.append((employer_no, filters))
    return [r for r in ROWS if employer_no == EMPLOYER_NO
            and (not filters.get("member_no") or r["member_no"] == filters["member_no"])
            and (not filters.get("open_from") or r["open_date"] >= filters["open_from"])]


def fetch(employer_no: str, filters: dict[str, Any], page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    found = matching(employer_no, filters)
    return found[(page - 1) * per_page:page * per_page], len(found)


QUERY = QueryDef(
    name="member-accounts", title=TITLE, permission="member_query", filters=AccountFilters,
    columns=(SheetColumn("member_no", "个人账号", "code"), SheetColumn("name", "姓名"),
             SheetColumn("open_date", "开户日期", "date"), SheetColumn("balance", "账户余额", "money")),
    fetch=fetch, iterate=lambda employer_no, filters: iter(matching(employer_no, filters)),
    caption=lambda filters: [f"开户日期：{filters.get('open_from') or ''} 至 {filters.get('open_to') or ''}"],
)


@pytest.fixture
def app() -> Flask:
    from services.auth.keys import public_key_pem
    from services.member import RUNTIME

    calls.clear()
    migrate.upgrade("member")
    return create_service_app(RUNTIME, [query_blueprint("member", [QUERY])], {"TESTING": True},
                              keys=KeyProvider(public_key_pem()))


def employer() -> dict[str, str]:
    return auth(token_for())


def test_a_page_of_rows_with_json_ready_values(app: Flask) -> None:
    answer = app.test_client().get(URL, query_string={"page": 3, "per_page": 20}, headers=employer())
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["title"], body["total"], body["page"], body["per_page"]) == (TITLE, 45, 3, 20)
    assert body["columns"][0] == {"key": "member_no", "label": "个人账号"}
    assert [r["member_no"] for r in body["items"]] == ["000040", "000041", "000042", "000043", "000044"]
    assert body["items"][0]["balance"] == "1274.50" and body["items"][0]["open_date"] == "2024-01-13"
    filtered = app.test_client().get(URL, query_string={"member_no": "000007"}, headers=employer()).get_json()
    assert filtered["total"] == 1 and filtered["items"][0]["name"] == "职工7"
    assert calls[-1] == (EMPLOYER_NO, {"member_no": "000007"})


def test_paging_is_bounded(app: Flask) -> None:
    answer = app.test_client().get(URL, query_string={"per_page": 1000}, headers=employer())
    assert answer.status_code == 422 and "每页条数" in answer.get_json()["message"]


def test_the_export_streams_every_row_as_an_attachment(app: Flask) -> None:
    answer = app.test_client().get(URL + "/export", query_string={"open_from": "2024-01-20"}, headers=employer())
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert answer.headers["Content-Disposition"] == "attachment; filename*=UTF-8''" + quote(TITLE + ".xlsx")
    assert answer.is_streamed
    rows = list(load_workbook(io.BytesIO(answer.get_data()))[TITLE].iter_rows(values_only=True))
    expected = [r for r in ROWS if r["open_date"] >= date(2024, 1, 20)]
    assert rows[0] == ("个人账号", "姓名", "开户日期", "账户余额")
    assert len(rows) == len(expected) + 1
    assert rows[1] == (expected[0]["member_no"], expected[0]["name"], expected[0]["open_date"].isoformat(),
                       float(expected[0]["balance"]))


def test_the_print_is_an_inline_pdf_with_the_filters(app: Flask) -> None:
    answer = app.test_client().get(URL + "/print", query_string={"open_from": "2024-01-01", "open_to": "2024-12-31"},
                                   headers=employer())
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith("inline; filename*=UTF-8''")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(answer.get_data())).pages)
    assert TITLE in text and f"单位编号：{EMPLOYER_NO}" in text and "开户日期：2024-01-01 至 2024-12-31" in text
    assert "职工44" in text and "共 45 条" in text


@pytest.mark.parametrize("path", ["", "/export", "/print"])
def test_another_employer_or_no_permission_is_refused(app: Flask, path: str) -> None:
    client = app.test_client()
    other = client.get(URL + path, headers=auth(token_for(employer_no=OTHER_EMPLOYER_NO)))
    assert other.status_code == 403 and other.get_json()["message"] == "无权访问其他单位的数据"
    without = client.get(URL + path, headers=auth(token_for(perms=("member_register",))))
    assert without.status_code == 403
    assert client.get(URL + path).status_code == 401
    assert calls == []  # refused before any row was read
    assert client.get(URL + path, headers=auth(token_for("center", None))).status_code == 200
    assert calls and calls[-1][0] == EMPLOYER_NO


@pytest.mark.parametrize("path", ["", "/export", "/print"])
def test_a_start_after_the_end_is_refused(app: Flask, path: str) -> None:
    answer = app.test_client().get(URL + path, query_string={"open_from": "2024-05-01", "open_to": "2024-04-30"},
                                   headers=employer())
    assert answer.status_code == 422
    assert answer.get_json()["message"] == "开始日期不能晚于结束日期"
    assert calls == []
    same_day = {"open_from": "2024-05-01", "open_to": "2024-05-01"}
    assert app.test_client().get(URL + path, query_string=same_day, headers=employer()).status_code == 200


def test_each_query_is_documented_with_its_filters_and_access(app: Flask) -> None:
    spec = app.test_client().get("/openapi.json").get_json()
    listed = spec["paths"]["/employers/{employer_no}/queries/member-accounts"]["get"]
    assert {p["name"] for p in listed["parameters"] if p["in"] == "query"} >= {"member_no", "open_from", "open_to",
                                                                             "page", "per_page"}
    assert listed["x-access"] == ["employer", "center"]
    export = spec["paths"]["/employers/{employer_no}/queries/member-accounts/export"]["get"]
    assert "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" in export["responses"]["200"]["content"]
    assert {p["name"] for p in export["parameters"] if p["in"] == "query"} == {"member_no", "open_from", "open_to"}
    printed = spec["paths"]["/employers/{employer_no}/queries/member-accounts/print"]["get"]
    assert "application/pdf" in printed["responses"]["200"]["content"]
