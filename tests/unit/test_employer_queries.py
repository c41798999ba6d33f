"""单位信息查询 (manual 7.2, 7.3) of the payment service: the account view of a period, the journal
with its 明细 and the 明细账, each paged, filtered, downloaded and printed, the employer's own only."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from flask import Flask

from .conftest import EMPLOYER_NO, OTHER_EMPLOYER_NO, auth, token_for
from .employer_query_support import MEMBERS, NAMES, journal_app, other_services, pdf_text, sheet_rows

BASE = f"/employers/{EMPLOYER_NO}/queries"
D = Decimal


@pytest.fixture
def journal() -> tuple[Flask, dict[str, str]]:
    return journal_app()


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    yield from other_services(monkeypatch)


def get(app: Flask, path: str, headers: dict[str, str], **args: str) -> object:
    return app.test_client().get(path, query_string=args, headers=headers)


def all_pages(app: Flask, path: str, headers: dict[str, str], per_page: int = 2, **args: str) -> list[dict]:
    rows: list[dict] = []
    page = 1
    while True:
        body = app.test_client().get(path, query_string={**args, "page": page, "per_page": per_page},
                                     headers=headers).get_json()
        rows += body["items"]
        if page * per_page >= body["total"]:
            return rows
        page += 1


def test_the_account_view_of_a_period_balances_with_its_journal_to_the_fen(
        journal: tuple[Flask, dict[str, str]], employer_headers: dict[str, str]) -> None:
    app, _ = journal
    period = {"start_date": "2025-07-01", "end_date": "2025-09-30"}
    whole = app.test_client().get(f"{BASE}/account/period", query_string=period, headers=employer_headers).get_json()
    assert (whole["opening"], whole["increase"], whole["decrease"], whole["closing"], whole["unallocated"]) == (
        "3500.00", "1724.95", "50.10", "5174.85", "19876.55")
    months = app.test_client().get(f"{BASE}/account", query_string=period, headers=employer_headers).get_json()
    assert months["total"] == 3
    assert [(m["period"], m["opening"], m["increase"], m["decrease"], m["closing"], m["unallocated"])
            for m in months["items"]] == [
        ("2025-07-01 至 2025-07-31", "3500.00", "800.75", "0.00", "4300.75", "20000.00"),
        ("2025-08-01 至 2025-08-31", "4300.75", "924.20", "0.00", "5224.95", "19876.55"),
        ("2025-09-01 至 2025-09-30", "5224.95", "0.00", "50.10", "5174.85", "19876.55"),
    ]
    # 7.3 over the same dates, every page of it: its rows sum to the period's movement exactly.
    entries = all_pages(app, f"{BASE}/journal", employer_headers, **period)
    assert len(entries) == 4
    moved = sum(D(e["amount"]) + D(e["interest"]) for e in entries)
    assert moved == D(whole["closing"]) - D(whole["opening"])
    assert sum(D(e["amount"]) for e in entries if D(e["amount"]) > 0) == D(whole["increase"])
    # Up to today the view ends at the account's balance: the interest of 2026-06-30 included.
    today = app.test_client().get(f"{BASE}/account/period", query_string={"start_date": "2025-01-01"},
                                  headers=employer_headers).get_json()
    account = app.test_client().get(f"/employers/{EMPLOYER_NO}/account", headers=employer_headers).get_json()
    assert today["closing"] == account["balance"] == "5262.87"
    assert today["opening"] == "0.00" and today["unallocated"] == account["unallocated"] == "19876.55"


def test_the_journal_filters_by_detail_type_and_booking_date_and_pages_newest_first(
        journal: tuple[Flask, dict[str, str]], employer_headers: dict[str, str]) -> None:
    app, serials = journal
    everything = all_pages(app, f"{BASE}/journal", employer_headers)
    assert [e["serial_no"] for e in everything] == [serials[k] for k in (
        "interest", "correction", "supplement", "august", "july", "opening")]
    first = everything[-1]
    assert (first["booking_date"], first["detail_type"], first["summary"], first["amount"], first["interest"],
            first["headcount"]) == ("2025-06-30", "其他", "期初余额", "3500.00", "0.00", 3)
    remittances = get(app, f"{BASE}/journal", employer_headers, detail_type="01").get_json()
    assert [e["summary"] for e in remittances["items"]] == ["2025年08月汇缴", "2025年07月汇缴"]
    august = get(app, f"{BASE}/journal", employer_headers, start_date="2025-08-01", end_date="2025-08-31").get_json()
    assert [e["detail_type"] for e in august["items"]] == ["补缴", "汇缴"]
    interest = get(app, f"{BASE}/journal", employer_headers, detail_type="09").get_json()["items"]
    assert [(e["amount"], e["interest"]) for e in interest] == [("0.00", "88.02")]
    bad_type = get(app, f"{BASE}/journal", employer_headers, detail_type="07")
    assert bad_type.status_code == 422 and "业务明细类型不正确" in str(bad_type.get_json())
    backwards = get(app, f"{BASE}/journal", employer_headers, start_date="2025-09-01", end_date="2025-08-01")
    assert backwards.status_code == 422 and "开始日期不能晚于结束日期" in str(backwards.get_json())
    too_many = get(app, f"{BASE}/journal", employer_headers, per_page="100000")
    assert too_many.status_code == 422


def test_the_detail_of_an_entry_names_its_members_from_the_member_service(
        journal: tuple[Flask, dict[str, str]], asked: dict[str, list[str]], employer_headers: dict[str, str]) -> None:
    app, serials = journal
    body = get(app, f"{BASE}/journal-lines", employer_headers, serial_no=serials["july"]).get_json()
    assert body["total"] == 3
    assert [(r["member_no"], r["name"], r["booking_date"], r["amount"], r["interest"], r["detail_type"])
            for r in body["items"]] == [
        (MEMBERS[0], NAMES[MEMBERS[0]], "2025-07-15", "300.00", "0.00", "汇缴"),
        (MEMBERS[1], NAMES[MEMBERS[1]], "2025-07-15", "400.50", "0.00", "汇缴"),
        (MEMBERS[2], NAMES[MEMBERS[2]], "2025-07-15", "100.25", "0.00", "汇缴"),
    ]
    assert asked["member"] == [f"/employers/{EMPLOYER_NO}/members/names"]
    second = get(app, f"{BASE}/journal-lines", employer_headers, serial_no=serials["july"], per_page="2", page="2")
    assert [r["member_no"] for r in second.get_json()["items"]] == [MEMBERS[2]]
    # Another employer's entry answers as missing; no entry chosen is said so.
    foreign = get(app, f"{BASE}/journal-lines", employer_headers, serial_no=serials["other"])
    assert foreign.status_code == 404 and foreign.get_json()["message"] == "业务流水不存在"
    for kind in ("/export", "/print"):
        assert get(app, f"{BASE}/journal-lines{kind}", employer_headers, serial_no=serials["other"]).status_code == 404
    missing = get(app, f"{BASE}/journal-lines", employer_headers)
    assert missing.status_code == 422 and "请选择一条业务流水" in str(missing.get_json())


def test_the_member_service_answers_names_of_the_employers_own_members_only(
        asked: dict[str, list[str]], employer_headers: dict[str, str], other_employer_headers: dict[str, str]) -> None:
    from hall_common.client import ServiceClient

    mine = ServiceClient("member", token=employer_headers["Authorization"].split()[1])
    answered = mine.post(f"/employers/{EMPLOYER_NO}/members/names", json={"member_nos": [*MEMBERS, "9999999999"]})
    assert {a["member_no"]: a["name"] for a in answered} == NAMES
    theirs = ServiceClient("member", token=other_employer_headers["Authorization"].split()[1])
    with pytest.raises(Exception) as refused:
        theirs.post(f"/employers/{EMPLOYER_NO}/members/names", json={"member_nos": MEMBERS})
    assert getattr(refused.value, "status", None) == 403
    assert theirs.post(f"/employers/{OTHER_EMPLOYER_NO}/members/names", json={"member_nos": MEMBERS}) == []


@pytest.mark.parametrize("path", ["account", "account/period", "journal", "ledger", "journal/export",
                                  "journal/print", "ledger/print", "account/export"])
def test_another_employer_and_an_account_without_the_right_are_refused(
        journal: tuple[Flask, dict[str, str]], other_employer_headers: dict[str, str], path: str) -> None:
    app, _ = journal
    assert get(app, f"{BASE}/{path}", other_employer_headers).status_code == 403
    no_right = auth(token_for(perms=("member_query",)))
    answer = get(app, f"{BASE}/{path}", no_right)
    assert answer.status_code == 403 and answer.get_json()["message"] == "当前账号无权办理该业务"
    assert app.test_client().get(f"{BASE}/{path}").status_code == 401


def test_the_other_employer_sees_its_own_journal_only(
        journal: tuple[Flask, dict[str, str]], other_employer_headers: dict[str, str]) -> None:
    app, serials = journal
    theirs = get(app, f"/employers/{OTHER_EMPLOYER_NO}/queries/journal", other_employer_headers).get_json()
    assert [e["serial_no"] for e in theirs["items"]] == [serials["other"]]


def test_the_ledger_runs_its_balance_across_pages(
        journal: tuple[Flask, dict[str, str]], employer_headers: dict[str, str]) -> None:
    app, _ = journal
    rows = all_pages(app, f"{BASE}/ledger", employer_headers, start_date="2025-07-01", end_date="2025-09-30")
    assert [(r["summary"], r["increase"], r["decrease"], r["balance"]) for r in rows] == [
        ("2025年07月汇缴", "800.75", "0.00", "4300.75"), ("2025年08月汇缴", "800.75", "0.00", "5101.50"),
        ("补缴 2025年05月", "123.45", "0.00", "5224.95"), ("错缴更正", "0.00", "50.10", "5174.85"),
    ]


def test_the_downloads_open_with_the_expected_rows(
        journal: tuple[Flask, dict[str, str]], asked: dict[str, list[str]], employer_headers: dict[str, str]) -> None:
    app, serials = journal
    journal_sheet = get(app, f"{BASE}/journal/export", employer_headers, detail_type="01")
    assert journal_sheet.status_code == 200 and journal_sheet.is_streamed
    rows = sheet_rows(journal_sheet.get_data())
    assert rows[0] == ("业务流水号", "记账日期", "业务明细类型", "摘要", "发生额", "利息额", "人数")
    assert [(r[0], r[2], r[3], r[4], r[6]) for r in rows[1:]] == [
        (serials["august"], "汇缴", "2025年08月汇缴", 800.75, "3"),
        (serials["july"], "汇缴", "2025年07月汇缴", 800.75, "3")]
    lines = sheet_rows(get(app, f"{BASE}/journal-lines/export", employer_headers,
                           serial_no=serials["interest"]).get_data())
    assert lines[0] == ("个人账号", "姓名", "记账日期", "发生额", "发生利息额", "业务明细类型")
    assert [(r[0], r[1], r[4], r[5]) for r in lines[1:]] == [
        (MEMBERS[0], NAMES[MEMBERS[0]], 30.01, "年终结息"), (MEMBERS[1], NAMES[MEMBERS[1]], 45.67, "年终结息"),
        (MEMBERS[2], NAMES[MEMBERS[2]], 12.34, "年终结息")]
    account = sheet_rows(get(app, f"{BASE}/account/export", employer_headers, start_date="2025-08-01",
                             end_date="2025-08-31").get_data())
    assert account == [("期间", "期初余额", "本期增加", "本期减少", "期末余额", "未分配金额"),
                       ("2025-08-01 至 2025-08-31", 4300.75, 924.2, 0, 5224.95, 19876.55)]
    ledger = sheet_rows(get(app, f"{BASE}/ledger/export", employer_headers, start_date="2025-09-01",
                            end_date="2025-12-31").get_data())
    assert [(r[2], r[6]) for r in ledger[1:]] == [("期初余额", 5224.95), ("错缴更正", 5174.85)]


def test_the_prints_state_their_document_and_read_back(
        journal: tuple[Flask, dict[str, str]], asked: dict[str, list[str]], employer_headers: dict[str, str]) -> None:
    app, serials = journal
    printed = get(app, f"{BASE}/journal/print", employer_headers, start_date="2025-07-01", end_date="2025-09-30")
    assert printed.status_code == 200 and printed.mimetype == "application/pdf"
    text = pdf_text(printed.get_data())
    assert "单位业务流水查询" in text and "单位：太原市示例科技有限公司（100100001）" in text
    assert "期间：2025-07-01 至 2025-09-30" in text and "笔数：4" in text and "发生额合计：1,674.85" in text
    assert serials["july"] in text and "错缴更正" in text and serials["interest"] not in text
    detail = pdf_text(get(app, f"{BASE}/journal-lines/print", employer_headers, serial_no=serials["july"]).get_data())
    assert "单位业务明细" in detail and f"业务流水号：{serials['july']}" in detail and NAMES[MEMBERS[1]] in detail
    assert "发生额：800.75" in detail and "400.50" in detail
    ledger = pdf_text(get(app, f"{BASE}/ledger/print", employer_headers, start_date="2025-07-01",
                          end_date="2025-09-30").get_data())
    assert "单位明细账" in ledger and "期初余额：3,500.00" in ledger and "期末余额：5,174.85" in ledger
    assert "5101.50" in ledger
    account = pdf_text(get(app, f"{BASE}/account/print", employer_headers, start_date="2025-07-01",
                           end_date="2025-09-30").get_data())
    assert "单位账户信息查询" in account and "本期增加：1,724.95" in account and "未分配金额：19,876.55" in account
    assert asked["employer"] == []  # the employer's own token states its name


def test_a_center_users_print_names_the_employer_from_the_employer_service(
        journal: tuple[Flask, dict[str, str]], asked: dict[str, list[str]], center_headers: dict[str, str]) -> None:
    app, _ = journal
    printed = get(app, f"{BASE}/account/print", center_headers, start_date="2025-07-01", end_date="2025-07-31")
    assert printed.status_code == 200
    assert "单位：太原市示例科技有限公司（100100001）" in pdf_text(printed.get_data())
    assert asked["employer"] == [f"/employers/{EMPLOYER_NO}"]


@pytest.mark.parametrize("path", ["account", "account/period", "ledger", "journal", "account/print"])
def test_the_calendars_edges_answer_not_500(
        journal: tuple[Flask, dict[str, str]], asked: dict[str, list[str]], employer_headers: dict[str, str],
        path: str) -> None:
    app, _ = journal
    answer = get(app, f"{BASE}/{path}", employer_headers, start_date="0001-01-01", end_date="9999-12-31")
    if path == "account/print":  # a month a row: 119,988 rows are more than a print holds
        assert answer.status_code == 422 and "请缩小查询范围后打印" in answer.get_json()["message"]
        return
    assert answer.status_code == 200
    body = answer.get_json()
    if path == "account/period":
        assert (body["opening"], body["closing"]) == ("0.00", "5262.87")
    elif path == "account":
        assert body["total"] == 9999 * 12 and body["items"][0]["period"] == "0001-01-01 至 0001-01-31"
    else:
        assert body["total"] == 6


def test_the_journal_print_names_the_detail_type_it_was_asked_for(
        journal: tuple[Flask, dict[str, str]], asked: dict[str, list[str]], employer_headers: dict[str, str]) -> None:
    app, _ = journal
    text = pdf_text(get(app, f"{BASE}/journal/print", employer_headers, detail_type="01").get_data())
    assert "查询条件：业务明细类型：汇缴" in text and "业务明细类型：汇缴" in text and "笔数：2" in text
