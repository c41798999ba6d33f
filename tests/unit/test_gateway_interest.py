"""The gateway's interest pages against the real payment service (in process): the console's 结息管理
(start a year, its progress, refusals, the permission) and the employer's 7.4 单位结息查询 (year choice,
paged rows, 打印 / 数据下载, 单位利息单 / 单位对账单 PDFs)."""

from __future__ import annotations

import html
import io
import re
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from gateway import create_app
from gateway.rosters import NO_RIGHT
from hall_common.client import ServiceClient, ServiceError
from hall_common.permissions import ALL_CENTER_PERMISSIONS
from services.payment import interest, interest_jobs

from .conftest import EMPLOYER_NO, token_for
from .interest_support import deposit, payment_app


class Answer:
    """A file answer of the in-process service, as ServiceClient.stream hands it on."""

    def __init__(self, headers: Any, data: bytes) -> None:
        self.headers, self.data = headers, data

    def stream(self, amount: int, decode_content: bool = True) -> Iterator[bytes]:
        yield self.data

    def release_conn(self) -> None:
        pass


@pytest.fixture
def payment(monkeypatch: pytest.MonkeyPatch) -> Flask:
    app = payment_app()
    monkeypatch.setattr(interest_jobs, "policy_rates", lambda on: interest.Rates(Decimal("0.015"), Decimal("0.015")))
    monkeypatch.setattr(interest_jobs, "enqueue", lambda year, actor: None)
    monkeypatch.setattr(interest_jobs, "today", lambda: date(2026, 12, 3))
    with app.app_context():
        deposit(EMPLOYER_NO, "M1", "10000.00", date(2025, 6, 30))

    def call(client: ServiceClient, method: str, path: str, params: Any) -> Any:
        assert client.service == "payment", client.service
        query = ("?" + urlencode(params, doseq=True)) if params else ""
        return app.test_client().open(path + query, method=method, headers=client.headers,
                                      **({"json": params} if method == "POST" else {}))

    def request(client: ServiceClient, method: str, path: str, params: Any = None, json: Any = None) -> Any:
        query = ("?" + urlencode(params, doseq=True)) if params else ""
        response = app.test_client().open(path + query, method=method, json=json, headers=client.headers)
        if response.status_code >= 400:
            body = response.get_json() or {}
            raise ServiceError("payment", response.status_code, body.get("message", ""), body.get("errors"))
        return response.get_json()

    def stream(client: ServiceClient, method: str, path: str, params: Any = None, **_: Any) -> Answer:
        response = call(client, method, path, params)
        if response.status_code >= 400:
            raise ServiceError("payment", response.status_code, (response.get_json() or {}).get("message", ""))
        return Answer(response.headers, response.data)

    monkeypatch.setattr(ServiceClient, "request", request)
    monkeypatch.setattr(ServiceClient, "stream", stream)
    return app


def console(perms: list[str] | None = None) -> FlaskClient:
    held = ALL_CENTER_PERMISSIONS if perms is None else perms
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["center_session"] = {"token": token_for("center", None, perms=tuple(held)),
                                     "expires_at": time.time() + 3600, "last_active": time.time(),
                                     "principal": {"sub": "center01", "name": "中心审核员李明", "perms": held}}
    return client


def operator(perms: tuple[str, ...] = ("employer_query",)) -> FlaskClient:
    client = create_app({"WTF_CSRF_ENABLED": False}).test_client()
    with client.session_transaction() as session:
        session["employer_session"] = {
            "token": token_for(perms=perms), "expires_at": time.time() + 3600, "last_active": time.time(),
            "sound_enabled": False,
            "principal": {"name": "王晓燕", "sub": "wangxy", "emp": EMPLOYER_NO, "emp_name": "太原市示例科技有限公司",
                          "perms": list(perms)}}
    return client


def alerts(page: str) -> list[str]:
    return [html.unescape(a) for a in re.findall(r'role="alert">([^<]*)</div>', page)]


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_console_starts_a_year_and_shows_its_progress(payment: Flask) -> None:
    client = console()
    page = client.get("/admin/interest/").get_data(as_text=True)
    assert ">结息管理</a>" in page and "暂无结息记录" in page
    assert '<option value="2026">2025-2026年度（2026年6月30日结息）</option>' in page
    started = client.post("/admin/interest/", data={"year": "2026"}, follow_redirects=True).get_data(as_text=True)
    assert alerts(started) == ["已开始2025-2026年度结息，进度见下表"]
    assert 'data-year="2026" data-status="running"' in started and 'http-equiv="refresh"' in started
    with payment.app_context():  # the heavy worker's part
        interest_jobs.settle_year(2026)
    done = client.get("/admin/interest/").get_data(as_text=True)
    assert 'data-year="2026" data-status="done"' in done and "152.08" in done and 'http-equiv="refresh"' not in done
    again = client.post("/admin/interest/", data={"year": "2026"}, follow_redirects=True).get_data(as_text=True)
    assert alerts(again) == ["2025-2026年度已结息完成，未重复记账"]
    refused = client.post("/admin/interest/", data={"year": "2027"}, follow_redirects=True).get_data(as_text=True)
    assert alerts(refused) == ["结息年度2026-2027年度尚未结束（2027年06月30日结息），不能结息"]
    bad = client.post("/admin/interest/", data={"year": "二〇二六"}, follow_redirects=True).get_data(as_text=True)
    assert alerts(bad) == ["年度应为2000到2100之间的年份"]
    nul = client.post("/admin/interest/", data={"year": "\x00"}, follow_redirects=True).get_data(as_text=True)
    assert alerts(nul) == ["不能包含控制字符"]


def test_the_console_page_needs_its_permission(payment: Flask) -> None:
    client = console([p for p in ALL_CENTER_PERMISSIONS if p != "interest"])
    assert client.get("/admin/interest/").status_code == 403
    assert client.post("/admin/interest/", data={"year": "2026"}).status_code == 403
    assert ">结息管理</a>" not in client.get("/admin/policy/").get_data(as_text=True)


def test_the_employer_finds_a_settled_year_and_prints_its_slip_and_statement(payment: Flask) -> None:
    with payment.app_context():
        interest_jobs.settle_year(2026, rates=interest.Rates(Decimal("0.015"), Decimal("0.015")))
    client = operator()
    page = client.get("/employer/queries/interest").get_data(as_text=True)
    assert '<option value="2026">2025-2026年度</option>' in page and "query-results" not in page
    found = client.get("/employer/queries/interest?run=1&year=2026").get_data(as_text=True)
    assert "2025-2026年度结息" in found and "152.08" in found
    assert 'href="/employer/queries/interest/2026/slip"' in found
    slip = client.get("/employer/queries/interest/2026/slip")
    assert slip.status_code == 200 and slip.mimetype == "application/pdf"
    assert "单位利息单" in _text(slip.data) and "152.08" in _text(slip.data)
    statement = _text(client.get("/employer/queries/interest/2026/statement").data)
    assert "单位对账单" in statement and "10152.08" in statement
    printed = client.get("/employer/queries/interest/print?year=2026")
    assert printed.status_code == 200 and "单位结息查询" in _text(printed.data)
    exported = client.get("/employer/queries/interest/export?year=2026")
    assert exported.status_code == 200 and exported.data[:2] == b"PK"
    missing = client.get("/employer/queries/interest/2025/slip", follow_redirects=True).get_data(as_text=True)
    assert alerts(missing) == ["2024-2025年度该年度尚未结息"]


def test_the_employer_page_needs_the_query_permission(payment: Flask) -> None:
    client = operator(("supplement",))
    answer = client.get("/employer/queries/interest", follow_redirects=True).get_data(as_text=True)
    assert alerts(answer) == [NO_RIGHT]
    assert client.get("/employer/queries/interest/2026/slip").status_code == 302
