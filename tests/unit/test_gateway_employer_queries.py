"""单位信息查询 in the gateway (manual ch. 7): the tabs (7.4 its own page), each asking its own service
with its filters and page, 7.2's period figures, 7.3's 明细 link and 打印单位明细账, the files passed on
from the right service, a refusal shown on the page, and an account without the right sent home."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from hall_common.client import ServiceClient, ServiceError

from .gateway_member_support import EMP, flashed, operator

SERIAL = "202507150000000002"
COLUMNS = [{"key": "serial_no", "label": "业务流水号"}, {"key": "summary", "label": "摘要"},
           {"key": "amount", "label": "发生额"}]
JOURNAL = {"title": "单位业务流水查询", "columns": COLUMNS,
           "items": [{"serial_no": SERIAL, "summary": "2025年07月汇缴", "amount": "800.75"}], "total": 41, "page": 3,
           "per_page": 20}
PERIOD = {"start_date": "2025-07-01", "end_date": "2025-09-30", "opening": "3500.00", "increase": "1724.95",
          "decrease": "50.10", "closing": "5174.85", "unallocated": "19876.55"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    asked: list[tuple[str, str, Any]] = []

    def request(self: ServiceClient, method: str, path: str, params: Any = None, json: Any = None) -> Any:
        asked.append((self.service, path, params))
        if path.endswith("/queries/account/period"):
            return PERIOD
        if "/queries/" in path:
            return {**JOURNAL, "items": JOURNAL["items"] if "journal" in path else []}
        raise AssertionError(f"unexpected call {method} {path}")

    monkeypatch.setattr(ServiceClient, "request", request)
    return asked


def test_the_tabs_and_the_interest_page_linked_from_the_last(calls: list[Any]) -> None:
    page = operator(["employer_query"]).get("/employer/queries").get_data(as_text=True)
    assert re.findall(r'data-tab="([\w-]+)"', page) == ["employer-changes", "account", "journal", "link"]
    assert '<a href="/employer/queries/interest" data-tab="link">单位结息查询</a>' in page
    assert "query-results" not in page and calls == []  # nothing asked before 查询


def test_the_change_history_is_asked_of_the_employer_service(calls: list[Any]) -> None:
    operator(["employer_query"]).get("/employer/queries?tab=employer-changes&run=1&start_date=2026-01-01&end_date=")
    assert calls == [("employer", f"/employers/{EMP}/queries/employer-changes",
                      {"start_date": "2026-01-01", "page": 1, "per_page": 20})]


def test_the_account_tab_shows_the_periods_figures_above_its_months(calls: list[Any]) -> None:
    page = operator(["employer_query"]).get(
        "/employer/queries?tab=account&run=1&start_date=2025-07-01&end_date=2025-09-30").get_data(as_text=True)
    dates = {"start_date": "2025-07-01", "end_date": "2025-09-30"}
    assert calls == [("payment", f"/employers/{EMP}/queries/account", {**dates, "page": 1, "per_page": 20}),
                     ("payment", f"/employers/{EMP}/queries/account/period", dates)]
    summary = re.search(r'<dl class="summary" id="query-summary">(.*?)</dl>', page, re.S).group(1)  # type: ignore
    assert "<dt>期初余额</dt><dd data-key=\"opening\">3500.00</dd>" in summary
    assert "<dt>未分配金额</dt><dd data-key=\"unallocated\">19876.55</dd>" in summary


def test_the_journal_pages_links_each_entrys_detail_and_prints_the_ledger(calls: list[Any]) -> None:
    client = operator(["employer_query"])
    page = html.unescape(client.get("/employer/queries?tab=journal&run=1&detail_type=01&start_date=2025-07-01"
                                    "&page=3").get_data(as_text=True))
    assert calls == [("payment", f"/employers/{EMP}/queries/journal",
                      {"detail_type": "01", "start_date": "2025-07-01", "page": 3, "per_page": 20})]
    assert '<option value="01" selected>汇缴</option>' in page and "<td>41</td>" in page  # page 3 numbers from 41
    assert f'<a class="row-link" href="/employer/queries?tab=journal-lines&run=1&serial_no={SERIAL}">明细</a>' in page
    # The ledger is printed over the journal tab's dates (its type filter is not the ledger's).
    assert 'id="print-ledger" href="/employer/queries/ledger/print?start_date=2025-07-01"' in page
    assert 'id="download" href="/employer/queries/journal/export?detail_type=01&start_date=2025-07-01"' in page
    detail = client.get(f"/employer/queries?tab=journal-lines&run=1&serial_no={SERIAL}").get_data(as_text=True)
    assert calls[-1] == ("payment", f"/employers/{EMP}/queries/journal-lines",
                         {"serial_no": SERIAL, "page": 1, "per_page": 20})
    assert '<a id="back" href="/employer/queries?tab=journal">返回单位业务流水查询</a>' in detail
    assert f"业务流水号：{SERIAL}" in detail and 'aria-current="page">单位业务流水查询' in detail


def test_the_files_come_from_the_service_of_their_query(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str, Any]] = []

    class Upstream:
        headers = {"Content-Type": "application/pdf", "Content-Disposition": "attachment; filename*=UTF-8''a.pdf"}

        def stream(self, amount: int, decode_content: bool = True) -> Any:
            yield b"%PDF-1.4"

        def release_conn(self) -> None:
            pass

    def stream(self: ServiceClient, method: str, path: str, params: Any = None, **kw: Any) -> Upstream:
        asked.append((self.service, path, params))
        return Upstream()

    monkeypatch.setattr(ServiceClient, "stream", stream)
    client = operator(["employer_query"])
    printed = client.get(f"/employer/queries/journal-lines/print?serial_no={SERIAL}")
    assert printed.headers["Content-Disposition"] == "inline; filename*=UTF-8''a.pdf"
    client.get("/employer/queries/employer-changes/export?start_date=2026-01-01")
    client.get("/employer/queries/ledger/print?start_date=2025-07-01&detail_type=01")
    assert asked == [("payment", f"/employers/{EMP}/queries/journal-lines/print", {"serial_no": SERIAL}),
                     ("employer", f"/employers/{EMP}/queries/employer-changes/export", {"start_date": "2026-01-01"}),
                     ("payment", f"/employers/{EMP}/queries/ledger/print", {"start_date": "2025-07-01"})]
    assert client.get("/employer/queries/no-such/print").status_code == 404

    def refuse(self: ServiceClient, *a: Any, **kw: Any) -> Any:
        raise ServiceError("payment", 404, "业务流水不存在")

    monkeypatch.setattr(ServiceClient, "stream", refuse)
    refused = client.get("/employer/queries/journal-lines/export?serial_no=X1")
    assert refused.status_code == 302 and refused.headers["Location"] == "/employer/queries?tab=journal&run=1"
    with client.session_transaction() as session:
        assert session["_flashes"] == [("error", "业务流水不存在")]


def test_a_refused_filter_is_named_and_an_account_without_the_right_goes_home(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: ServiceClient, method: str, path: str, **kw: Any) -> Any:
        raise ServiceError("payment", 422, "查询条件有误", {"query": {"end_date": ["开始日期不能晚于结束日期"]}})

    monkeypatch.setattr(ServiceClient, "request", refuse)
    page = operator(["employer_query"]).get("/employer/queries?tab=journal&run=1&start_date=2026-02-01"
                                            "&end_date=2026-01-01").get_data(as_text=True)
    assert flashed(page) == ["记账日期（止）：开始日期不能晚于结束日期"]
    refused = operator(["member_query"]).get("/employer/queries")
    assert refused.status_code == 302 and refused.headers["Location"] == "/"
    assert operator(["member_query"]).get("/employer/queries/journal/print").headers["Location"] == "/"
