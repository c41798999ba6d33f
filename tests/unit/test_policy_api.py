"""The policy API (政策参数) of the member service: who may keep and read it, what a version must hold,
edits and deletes of future versions only (a version in force or past is never rewritten), the audit
of every change with before and after, and the version in force on either side of an effective date."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from flask import Flask

from services.member import policy_admin
from tests.threads import at_once

from .conftest import AnyDb, auth, make_app, token_for

LATER = date.today() + timedelta(days=400)


def version(effective_from: date | str = LATER, **changes: str) -> dict[str, str]:
    return {"effective_from": str(effective_from), "base_min": "1980", "base_max": "28512",
            "amount_min": "198", "amount_max": "6842.88", "employer_ratio_min_pct": "5",
            "employer_ratio_max_pct": "12", "personal_ratio_min_pct": "5", "personal_ratio_max_pct": "12",
            "current_rate_pct": "1.5", "carried_rate_pct": "1.5", "note": "2027年度缴存基数上下限", **changes}


@pytest.fixture
def app() -> Flask:
    return make_app("member")


def audits(app: Flask, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = app.test_client().get("/audit-records?per_page=200", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return list(answer.get_json()["items"])


def test_a_version_is_added_and_read_back_in_percent_with_its_state(app: Flask, center_headers: dict[str, str]) -> None:
    client = app.test_client()
    answer = client.post("/policy/versions", json=version(), headers=center_headers)
    assert answer.status_code == 201, answer.get_json()
    added = answer.get_json()
    assert (added["base_min"], added["base_max"], added["amount_max"]) == ("1980.00", "28512.00", "6842.88")
    assert (added["employer_ratio_max_pct"], added["current_rate_pct"]) == ("12", "1.5")
    assert (added["state_name"], added["editable"], added["rounding_name"], added["amount_places_name"]) == (
        "未生效", True, "四舍五入", "到分")  # DOMAIN.md's default rule when none is chosen
    listed = client.get("/policy/versions", headers=center_headers).get_json()
    assert [v["effective_from"] for v in listed["items"]] == [LATER.isoformat(), "1991-01-01"]  # newest first
    assert [v["state_name"] for v in listed["items"]] == ["未生效", "生效中"]
    with app.app_context():
        from services.member.policy import in_force
        stored = in_force(LATER)
    assert (stored.employer_ratio_max, stored.current_rate) == (Decimal("0.1200"), Decimal("0.015000"))


def test_only_the_policy_permission_keeps_versions_while_every_session_and_service_reads_the_one_in_force(
        app: Flask, employer_headers: dict[str, str]) -> None:
    client = app.test_client()
    without = auth(token_for("center", None, perms=("audit", "push"), login_name="center02"))
    for headers in (employer_headers, without):
        assert client.post("/policy/versions", json=version(), headers=headers).status_code == 403
        assert client.get("/policy/versions", headers=headers).status_code == 403
        assert client.put("/policy/versions/1", json=version(), headers=headers).status_code == 403
        assert client.delete("/policy/versions/1", headers=headers).status_code == 403
    service = auth(token_for("service", None, perms=("policy_read",), login_name="core-accounting"))
    for headers in (employer_headers, without, service):
        answer = client.get("/policy/in-force", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["effective_from"] == "1991-01-01"
    pusher = auth(token_for("service", None, perms=("push",), login_name="core"))
    assert client.get("/policy/in-force", headers=pusher).status_code == 403
    assert client.get("/policy/in-force").status_code == 401


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"base_min": "30000"}, "base_max", "缴存基数下限不能大于缴存基数上限"),
    ({"amount_min": "7000"}, "amount_max", "月缴存额下限不能大于月缴存额上限"),
    ({"employer_ratio_min_pct": "13"}, "employer_ratio_max_pct", "单位缴存比例下限不能大于单位缴存比例上限"),
    ({"personal_ratio_max_pct": "4"}, "personal_ratio_max_pct", "个人缴存比例下限不能大于个人缴存比例上限"),
    ({"base_min": "0"}, "base_min", "缴存基数下限应大于0元"),
    ({"base_max": "1980.123"}, "base_max", "缴存基数上限最多2位小数"),
    ({"employer_ratio_max_pct": "101"}, "employer_ratio_max_pct", "单位缴存比例上限应不小于0%且不大于100%"),
    ({"current_rate_pct": "abc"}, "current_rate_pct", "当年归集利率应为数字"),
    ({"carried_rate_pct": ""}, "carried_rate_pct", "上年结转利率不能为空"),
    ({"rounding": "ROUND_05UP"}, "rounding", "舍入方式应为"),
    ({"amount_places": "0.1"}, "amount_places", "月缴存额保留位数应为到分（0.01）或到元（1）"),
    ({"note": "备\x07注"}, "note", "不能包含控制字符"),
    ({"effective_from": "2027-02-30"}, "effective_from", "生效日期应为有效日期"),
    ({"effective_from": ""}, "effective_from", "生效日期应为有效日期"),
])
def test_a_bad_version_is_refused_naming_the_field_and_nothing_is_stored(
        app: Flask, center_headers: dict[str, str], changes: dict[str, str], field: str, message: str) -> None:
    client = app.test_client()
    answer = client.post("/policy/versions", json=version(**changes), headers=center_headers)
    assert answer.status_code == 422, answer.get_json()
    assert message in "；".join(answer.get_json()["errors"]["json"][field])
    assert client.get("/policy/versions", headers=center_headers).get_json()["total"] == 1
    assert audits(app, center_headers) == []


@pytest.mark.parametrize("day", [date.today(), date.today() - timedelta(days=1), date(2025, 7, 1)])
def test_a_version_cannot_start_today_or_in_the_past(app: Flask, center_headers: dict[str, str], day: date) -> None:
    answer = app.test_client().post("/policy/versions", json=version(day), headers=center_headers)
    assert answer.status_code == 422
    assert answer.get_json()["message"] == policy_admin.EFFECTIVE_NOT_FUTURE


def test_two_versions_from_the_same_day_are_refused(app: Flask, center_headers: dict[str, str]) -> None:
    client = app.test_client()
    assert client.post("/policy/versions", json=version(), headers=center_headers).status_code == 201
    again = client.post("/policy/versions", json=version(base_min="2000"), headers=center_headers)
    assert again.status_code == 409
    assert again.get_json()["message"] == f"生效日期 {LATER.isoformat()} 已有政策参数版本"
    other = client.post("/policy/versions", json=version(LATER + timedelta(days=1)), headers=center_headers)
    moved = client.put(f"/policy/versions/{other.get_json()['id']}", json=version(), headers=center_headers)
    assert (moved.status_code, moved.get_json()["message"]) == (409, f"生效日期 {LATER.isoformat()} 已有政策参数版本")
    assert client.get(f"/policy/versions/{other.get_json()['id']}", headers=center_headers).get_json()[
        "effective_from"] == (LATER + timedelta(days=1)).isoformat()


def test_every_change_is_audited_with_the_version_before_and_after(app: Flask, center_headers: dict[str, str]) -> None:
    client = app.test_client()
    added = client.post("/policy/versions", json=version(), headers=center_headers).get_json()
    edited = client.put(f"/policy/versions/{added['id']}", json=version(base_min="2000", rounding="ROUND_DOWN"),
                        headers=center_headers)
    assert edited.status_code == 200, edited.get_json()
    assert (edited.get_json()["base_min"], edited.get_json()["rounding_name"]) == ("2000.00", "舍去")
    assert client.delete(f"/policy/versions/{added['id']}", headers=center_headers).status_code == 204
    deleted, updated, created = audits(app, center_headers)
    assert [r["action"] for r in (created, updated, deleted)] == ["policy_create", "policy_update", "policy_delete"]
    assert {r["actor"] for r in (created, updated, deleted)} == {"center01"}
    assert {r["target"] for r in (created, updated, deleted)} == {f"政策参数 {LATER.isoformat()}"}
    assert created["before"] is None and created["after"]["base_min"] == "1980.00"
    assert (updated["before"]["base_min"], updated["after"]["base_min"]) == ("1980.00", "2000.00")
    assert (updated["before"]["rounding"], updated["after"]["rounding"]) == ("ROUND_HALF_UP", "ROUND_DOWN")
    assert deleted["before"]["base_min"] == "2000.00" and deleted["after"] is None
    assert client.get("/policy/versions", headers=center_headers).get_json()["total"] == 1


def test_a_version_in_force_or_past_is_never_edited_nor_deleted(app: Flask, center_headers: dict[str, str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.test_client()
    added = client.post("/policy/versions", json=version(), headers=center_headers).get_json()
    initial = client.get("/policy/versions", headers=center_headers).get_json()["items"][1]
    # The day the new version takes effect: it is in force, the initial one is past; neither moves.
    monkeypatch.setattr(policy_admin, "today", lambda: LATER)
    for kept in (added, initial):
        edit = client.put(f"/policy/versions/{kept['id']}", json=version(LATER + timedelta(days=30)),
                          headers=center_headers)
        assert edit.status_code == 409
        assert edit.get_json()["message"] == policy_admin.NOT_FUTURE
        assert client.delete(f"/policy/versions/{kept['id']}", headers=center_headers).status_code == 409
    states = client.get("/policy/versions", headers=center_headers).get_json()["items"]
    assert [(v["state_name"], v["editable"], v["base_min"]) for v in states] == [
        ("生效中", False, "1980.00"), ("已失效", False, "1.00")]
    assert [r["action"] for r in audits(app, center_headers)] == ["policy_create"]
    assert client.put("/policy/versions/999", json=version(), headers=center_headers).status_code == 404


def test_concurrent_edits_lose_nothing_an_edit_from_a_stale_reading_is_told_to_refresh(
        any_db: AnyDb, center_headers: dict[str, str]) -> None:
    app = any_db.app("member")
    added = app.test_client().post("/policy/versions", json=version(), headers=center_headers).get_json()

    def edit(base_min: str) -> Any:
        return app.test_client().put(f"/policy/versions/{added['id']}", json=version(base_min=base_min),
                                     headers=center_headers)

    answers = at_once([partial(edit, str(2000 + n)) for n in range(8)])
    codes = sorted(a.status_code for a in answers)
    assert codes.count(200) >= 1 and set(codes) <= {200, 409}
    refused = [a.get_json()["message"] for a in answers if a.status_code == 409]
    assert set(refused) <= {policy_admin.CHANGED}
    # Every stored edit was audited from the state it replaced: the chain of before/after is unbroken.
    updates = [r for r in audits(app, center_headers) if r["action"] == "policy_update"][::-1]
    assert len(updates) == codes.count(200)
    chain = ["1980.00"] + [u["after"]["base_min"] for u in updates]
    assert [u["before"]["base_min"] for u in updates] == chain[:-1]


def test_the_version_in_force_changes_on_its_effective_date(app: Flask, center_headers: dict[str, str],
                                                            employer_headers: dict[str, str]) -> None:
    client = app.test_client()
    client.post("/policy/versions", json=version(), headers=center_headers)

    def on(day: date) -> dict[str, Any]:
        answer = client.get(f"/policy/in-force?on={day.isoformat()}", headers=employer_headers)
        assert answer.status_code == 200, answer.get_json()
        return dict(answer.get_json())

    before, first_day = on(LATER - timedelta(days=1)), on(LATER)
    assert (before["effective_from"], before["base_min"], before["state_name"]) == ("1991-01-01", "1.00", "生效中")
    assert (first_day["effective_from"], first_day["base_min"], first_day["state_name"]) == (
        LATER.isoformat(), "1980.00", "生效中")
    assert on(date.today())["effective_from"] == "1991-01-01"  # today, when no date is asked
    assert client.get("/policy/in-force", headers=employer_headers).get_json()["effective_from"] == "1991-01-01"
    none = client.get("/policy/in-force?on=1990-12-31", headers=employer_headers)
    assert (none.status_code, none.get_json()["message"]) == (422, "该日期无生效的政策参数，请联系公积金中心")
    bad = client.get("/policy/in-force?on=2026-13-01", headers=employer_headers)
    assert bad.status_code == 422 and bad.get_json()["message"] == "日期应为有效日期（YYYY-MM-DD）"


def test_of_versions_added_at_once_for_the_same_day_one_is_stored(any_db: AnyDb,
                                                                  center_headers: dict[str, str]) -> None:
    app = any_db.app("member")

    def add(base_min: str) -> Any:
        return app.test_client().post("/policy/versions", json=version(base_min=base_min), headers=center_headers)

    answers = at_once([partial(add, str(1980 + n)) for n in range(6)])
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409, 409]
    assert [r["action"] for r in audits(app, center_headers)] == ["policy_create"]
