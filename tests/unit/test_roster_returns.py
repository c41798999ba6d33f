"""A returned roster business corrected where it stands: a row's values changed (checked as a typed
row), a row taken out, then 重新提交 with the corrected summary; nothing changes once it is no longer
returned, nothing of another employer's, and ten simultaneous removals leave the last row in place."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from ..threads import at_once
from .conftest import AnyDb, make_app
from .member_support import (
    BASE,
    account_of,
    add,
    business_ids,
    commit,
    decide,
    outbox_events,
    registration,
    resident_id,
)

TYPE = "member_registration"
ROWS = f"{BASE}/rosters/{TYPE}/businesses"


@pytest.fixture
def app() -> Flask:
    return make_app("member")


def _returned(app: Flask, headers: dict[str, str], count: int, first_serial: int = 300) -> tuple[str, list[int]]:
    ids = []
    for serial in range(first_serial, first_serial + count):
        answer = add(app, headers, TYPE, registration(f"退回{serial}", resident_id(serial)))
        assert answer.status_code == 201, answer.get_json()
        ids.append(answer.get_json()["row"]["id"])
    assert commit(app, headers, TYPE).status_code == 201
    business_id = business_ids(app, TYPE)[-1]
    assert decide(app, TYPE, business_id, "business.returned", approver="复核员", opinion="基数有误") == "processed"
    return business_id, ids


def _rows(app: Flask, headers: dict[str, str], business_id: str) -> dict[str, Any]:
    answer = app.test_client().get(f"{ROWS}/{business_id}/rows", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return dict(answer.get_json())


def test_a_returned_row_is_corrected_another_taken_out_and_the_business_resubmitted(
        app: Flask, employer_headers: dict[str, str]) -> None:
    business_id, (first, second, third) = _returned(app, employer_headers, 3)
    listed = _rows(app, employer_headers, business_id)
    assert listed["correctable"] is True and listed["total"] == 3
    assert listed["items"][0]["values"]["base"] == "5000.00" and listed["items"][0]["values"]["ratio"] == "12"
    client = app.test_client()
    bad = client.put(f"{ROWS}/{business_id}/rows/{first}", headers=employer_headers,
                     json={"values": {**listed["items"][0]["values"], "base": "五千"}})
    assert bad.status_code == 422 and "缴存基数" in bad.get_json()["message"]
    fixed = client.put(f"{ROWS}/{business_id}/rows/{first}", headers=employer_headers,
                       json={"values": {**listed["items"][0]["values"], "base": "5200"}})
    assert fixed.status_code == 200, fixed.get_json()
    assert fixed.get_json()["row"]["base"] == "5200.00" and fixed.get_json()["row"]["monthly_amount"] == "1248.00"
    # Another row's subject is not this one's to take.
    taken = client.put(f"{ROWS}/{business_id}/rows/{second}", headers=employer_headers,
                       json={"values": {**listed["items"][1]["values"],
                                        "id_number": listed["items"][2]["values"]["id_number"]}})
    assert taken.status_code in (409, 422) and "已在清册中" in taken.get_json()["message"]
    assert client.delete(f"{ROWS}/{business_id}/rows/{third}", headers=employer_headers).status_code == 200
    assert _rows(app, employer_headers, business_id)["total"] == 2

    resubmitted = client.post(f"/businesses/{TYPE}/{business_id}/resubmit", headers=employer_headers)
    assert resubmitted.status_code == 200, resubmitted.get_json()
    assert [e["data"]["summary"] for e in outbox_events(app) if e["type"] == "business.resubmitted"] == ["2人"]
    # In approval again: no correction, no removal.
    again = client.put(f"{ROWS}/{business_id}/rows/{first}", headers=employer_headers,
                       json={"values": {**listed["items"][0]["values"], "base": "5300"}})
    assert again.status_code == 409 and again.get_json()["message"] == "该业务未被退回，不能修改，请刷新后查看"
    assert client.delete(f"{ROWS}/{business_id}/rows/{second}", headers=employer_headers).status_code == 409
    assert decide(app, TYPE, business_id) == "processed"
    bases = [account_of(app, employer_headers, resident_id(serial)) for serial in (300, 301, 302)]
    assert [b and b["base"] for b in bases] == ["5200.00", "5000.00", None]


def test_another_employer_sees_nothing_and_a_center_account_cannot_correct(
        app: Flask, employer_headers: dict[str, str], other_employer_headers: dict[str, str],
        center_headers: dict[str, str]) -> None:
    business_id, (first, _) = _returned(app, employer_headers, 2, 320)
    client = app.test_client()
    assert client.get(f"{ROWS}/{business_id}/rows", headers=other_employer_headers).status_code == 403
    assert client.delete(f"{ROWS}/{business_id}/rows/{first}", headers=other_employer_headers).status_code == 403
    assert client.get(f"{ROWS}/{business_id}/rows", headers=center_headers).status_code == 200
    assert client.delete(f"{ROWS}/{business_id}/rows/{first}", headers=center_headers).status_code == 403
    assert client.get(f"{ROWS}/999999/rows", headers=employer_headers).status_code == 404


def test_ten_simultaneous_removals_leave_the_last_row(any_db: AnyDb, employer_headers: dict[str, str]) -> None:
    app = any_db.app("member")
    business_id, ids = _returned(app, employer_headers, 3, 340)
    client = app.test_client
    answers = at_once([lambda i=i: client().delete(f"{ROWS}/{business_id}/rows/{ids[i % 3]}",
                                                   headers=employer_headers) for i in range(10)])
    assert sorted(a.status_code for a in answers).count(200) == 2, [a.get_json() for a in answers]
    left = _rows(app, employer_headers, business_id)
    assert left["total"] == 1 and len(left["items"]) == 1
    last = client().delete(f"{ROWS}/{business_id}/rows/{left['items'][0]['id']}", headers=employer_headers)
    assert last.status_code == 409 and "至少保留一条记录" in last.get_json()["message"]
