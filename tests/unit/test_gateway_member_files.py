"""缴存人信息查询 and the files through the gateway, with the member service replaced by a fake: the
client posting raw bytes and reading a refused stream, an export passed on chunk by chunk without
being held whole, a print opened inline, the query tabs' filters, a refused filter named, and the
login page's print hint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from gateway import create_app
from hall_common import client as client_module
from hall_common.client import ServiceClient, ServiceError

from .gateway_member_support import ALL, EMP, XLSX, FakeMember, fake_member, flashed, operator


@pytest.fixture
def member(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMember]:
    yield from fake_member(monkeypatch)

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


