"""The interest routes: the center starts a run (rates from the member service's policy), sees its
progress; the employer's 7.4 list, export and print, 利息单 and 对账单, never another employer's."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader

from services.payment import interest_jobs

from .conftest import EMPLOYER_NO, OTHER_EMPLOYER_NO, auth, make_app, token_for
from .interest_support import deposit, payment_app


class MemberService:
    """ServiceClient("member", token) answered by the member app itself, the token checked there."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def __call__(self, service: str, token: str | None = None) -> MemberService:
        assert service == "member"
        self.token = token
        return self

    def get(self, path: str, **params: Any) -> Any:
        answer = self.app.test_client().get(path, query_string=params, headers=auth(self.token or ""))
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setattr(interest_jobs, "ServiceClient", MemberService(make_app("member")))
    monkeypatch.setattr(interest_jobs, "own_token",
                        lambda service: token_for("service", None, perms=("policy_read",), login_name=service))
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(interest_jobs, "enqueue", lambda year, actor: sent.append((year, actor)))
    monkeypatch.setattr(interest_jobs, "today", lambda: date(2026, 12, 3))
    made = payment_app()
    made.config["sent"] = sent
    with made.app_context():
        deposit(EMPLOYER_NO, "M1", "10000.00", date(2025, 6, 30))
        deposit(EMPLOYER_NO, "M2", "5000.00", date(2025, 6, 30))
        deposit(EMPLOYER_NO, "M2", "1200.00", date(2026, 1, 1))
        deposit(OTHER_EMPLOYER_NO, "X1", "20000.00", date(2025, 6, 30))
    return made


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_center_starts_a_run_with_the_policy_rates_and_sees_it_finish(app: Flask,
                                                                          center_headers: dict[str, str]) -> None:
    client = app.test_client()
    assert client.get("/interest/runs/2026", headers=center_headers).get_json()["status_name"] == "未结息"
    started = client.post("/interest/runs", json={"year": 2026}, headers=center_headers)
    assert started.status_code == 202, started.get_json()
    body = started.get_json()
    # the demo policy's 1.5% (member service, policy in force on 30 June 2026), the default basis 360
    assert (body["status"], body["current_rate"], body["carried_rate"], body["day_basis"]) == (
        "running", "0.015", "0.015", 360)
    assert app.config["sent"] == [(2026, "center01")]
    with app.app_context():  # what the heavy worker does with the job
        summary = interest_jobs.settle_year(2026)
    assert summary["status"] == "done"
    shown = client.get("/interest/runs", headers=center_headers).get_json()
    assert shown["total"] == 1
    # 152.08 + (5,000 x 365 + 1,200 x 181) x 0.015 / 360 = 76.04 + 9.05 = 85.09; and 304.17
    assert (shown["items"][0]["employers_done"], shown["items"][0]["members_done"],
            shown["items"][0]["interest_total"]) == (2, 3, "541.34")
    again = client.post("/interest/runs", json={"year": 2026}, headers=center_headers).get_json()
    assert again["status"] == "done" and app.config["sent"] == [(2026, "center01")]  # nothing sent again


def test_refusals_of_the_run(app: Flask, center_headers: dict[str, str], employer_headers: dict[str, str]) -> None:
    client = app.test_client()
    unfinished = client.post("/interest/runs", json={"year": 2027}, headers=center_headers)
    assert unfinished.status_code == 422
    assert unfinished.get_json()["message"] == "结息年度2026-2027年度尚未结束（2027年06月30日结息），不能结息"
    assert client.post("/interest/runs", json={}, headers=center_headers).get_json()["errors"]["json"]["year"] == [
        "请选择结息年度"]
    assert client.post("/interest/runs", json={"year": "x"}, headers=center_headers).status_code == 422
    assert client.post("/interest/runs", json={"year": 2026}, headers=employer_headers).status_code == 403
    lacking = auth(token_for("center", None, perms=("policy",), login_name="center02"))
    assert client.get("/interest/runs", headers=lacking).status_code == 403


def _settled(app: Flask) -> None:
    with app.app_context():
        interest_jobs.settle_year(2026)


def test_employer_interest_query_slip_and_statement(app: Flask, employer_headers: dict[str, str]) -> None:
    _settled(app)
    client = app.test_client()
    base = f"/employers/{EMPLOYER_NO}"
    page = client.get(f"{base}/queries/interest?year=2026", headers=employer_headers).get_json()
    assert page["total"] == 1
    row, = page["items"]
    assert (row["booking_date"], row["summary"], row["amount"], row["interest"], row["headcount"]) == (
        "2026-06-30", "2025-2026年度结息", "0.00", "237.17", "2")
    assert client.get(f"{base}/queries/interest?year=2025", headers=employer_headers).get_json()["total"] == 0
    assert client.get(f"{base}/interest/years", headers=employer_headers).get_json() == {"years": [2026]}
    sheet = load_workbook(io.BytesIO(client.get(f"{base}/queries/interest/export", headers=employer_headers).data))
    values = [list(r) for r in sheet.active.iter_rows(values_only=True)]
    assert values[0][:6] == ["业务流水号", "记账日期", "摘要", "发生额", "利息额", "人数"]
    assert len(values) == 2 and values[1][2] == "2025-2026年度结息"
    printed = client.get(f"{base}/queries/interest/print?year=2026", headers=employer_headers)
    assert "单位结息查询" in _text(printed.data) and "237.17" in _text(printed.data)

    slip = client.get(f"{base}/interest/2026/slip", headers=employer_headers)
    assert slip.status_code == 200 and slip.mimetype == "application/pdf"
    text = _text(slip.data)
    # M1: 10,000 carried, product 3,650,000.00, 152.08; M2: 5,000 carried, 1,825,000 + 217,200
    for piece in ("单位利息单", "2025-2026年度", "M1", "10000.00", "3650000.00", "152.08", "M2", "2042200.00",
                  "85.09"):
        assert piece in text, piece
    statement = _text(client.get(f"{base}/interest/2026/statement", headers=employer_headers).data)
    # opening 15,000.00; 其他 1,200.00; interest 237.17; closing 16,437.17
    for piece in ("单位对账单", "期初余额", "15000.00", "本年其他", "1200.00", "本年利息", "237.17", "期末余额",
                  "16437.17"):
        assert piece in statement, piece
    missing = client.get(f"{base}/interest/2025/slip", headers=employer_headers)
    assert missing.status_code == 404 and missing.get_json()["message"] == "2024-2025年度该年度尚未结息"


def test_another_employer_is_refused(app: Flask, other_employer_headers: dict[str, str]) -> None:
    _settled(app)
    client = app.test_client()
    base = f"/employers/{EMPLOYER_NO}"
    for path in ("/queries/interest", "/queries/interest/export", "/queries/interest/print", "/interest/years",
                 "/interest/2026/slip", "/interest/2026/statement"):
        assert client.get(base + path, headers=other_employer_headers).status_code == 403, path
    own = client.get(f"/employers/{OTHER_EMPLOYER_NO}/queries/interest", headers=other_employer_headers).get_json()
    assert own["total"] == 1 and own["items"][0]["interest"] == "304.17"
    no_query = auth(token_for(perms=("supplement",)))
    assert client.get(f"{base}/interest/2026/slip", headers=no_query).status_code == 403
    assert Decimal(own["items"][0]["interest"]) == Decimal("304.17")


def test_the_heavy_job_settles_the_year_ending_today_and_beat_sends_it_on_30_june(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from celery import Celery

    from hall_common.celery_app import HEAVY_QUEUE

    heavy = Celery("test-heavy")
    interest_jobs.register_heavy(heavy, app)
    task = heavy.tasks[interest_jobs.TASK]
    monkeypatch.setattr(interest_jobs, "today", lambda: date(2026, 6, 30))
    task.run()  # beat's call: no year, the one ending today
    with app.app_context():
        assert interest_jobs.run_of(2026)["status"] == "done"
        assert interest_jobs.run_of(2026)["interest_total"] == Decimal("541.34")
    task.run(2027)  # a year not ended: refused and logged, the job does not fail
    with app.app_context():
        assert interest_jobs.run_of(2027)["status"] == "none"
    entry = interest_jobs.BEAT["payment-interest-yearly"]
    assert entry["task"] == interest_jobs.TASK and entry["options"]["queue"] == HEAVY_QUEUE
    schedule = entry["schedule"]
    # 15:30 UTC is 23:30 in Beijing: after the day's bookings
    assert (schedule.month_of_year, schedule.day_of_month, schedule.hour, schedule.minute) == ({6}, {30}, {15}, {30})
