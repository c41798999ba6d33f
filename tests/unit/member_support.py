"""An employer operator's rosters through the member service's API, and the approval's outcome as the
workflow service sends it, for the tests of registration, seal and unseal."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from openpyxl import load_workbook
from stdnum.cn import ric

from hall_common.consumer import consume
from hall_common.events import make_event

from .conftest import EMPLOYER_NO, outbox_events

BASE = f"/employers/{EMPLOYER_NO}"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def resident_id(serial: int, born: str = "19900101") -> str:
    """A valid 18-character resident ID (not one of the demo members': those start 140105)."""
    body = f"110105{born}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def registration(name: str, id_number: str, base: str = "5000", **more: str) -> dict[str, str]:
    return {"name": name, "id_number": id_number, "base": base, "first_month": "202612", "ratio": "12", **more}


def add(app: Flask, headers: dict[str, str], type_: str, values: dict[str, str]) -> Any:
    return app.test_client().post(f"{BASE}/rosters/{type_}/rows", json={"values": values}, headers=headers)


def rows(app: Flask, headers: dict[str, str], type_: str, per_page: int = 200) -> dict[str, Any]:
    response = app.test_client().get(f"{BASE}/rosters/{type_}?per_page={per_page}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def commit(app: Flask, headers: dict[str, str], type_: str, row_ids: list[int] | None = None) -> Any:
    return app.test_client().post(f"{BASE}/rosters/{type_}/commit", json={"row_ids": row_ids or []},
                                  headers=headers)


def upload(app: Flask, headers: dict[str, str], type_: str, content: bytes, option: str = "") -> Any:
    query = f"?option={option}&file_name=upload.xlsx" if option else "?file_name=upload.xlsx"
    return app.test_client().post(f"{BASE}/rosters/{type_}/imports{query}", data=content,
                                  headers={**headers, "Content-Type": XLSX})


def template(app: Flask, headers: dict[str, str], type_: str, option: str = "") -> bytes:
    response = app.test_client().get(f"{BASE}/rosters/{type_}/template?option={option}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return bytes(response.data)


def filled(template_bytes: bytes, lines: list[list[Any]]) -> bytes:
    """The downloaded template with these data rows typed in, as an operator saves it."""
    book = load_workbook(io.BytesIO(template_bytes))
    sheet = book.worksheets[0]
    for line in lines:
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def business_ids(app: Flask, type_: str) -> list[str]:
    return [e["data"]["business_id"] for e in outbox_events(app)
            if e["type"] == "business.submitted" and e["data"]["business_type"] == type_]


def decide(app: Flask, type_: str, business_id: str, kind: str = "business.approved", **data: Any) -> str:
    """The approval process's outcome arrives (the default processes have no user task: approved)."""
    event = make_event("workflow", kind, {
        "business_type": type_, "business_id": business_id, "owner": "member", "employer_no": EMPLOYER_NO,
        "instance_id": 7, "approver": data.pop("approver", ""), "opinion": data.pop("opinion", ""), **data})
    with app.app_context():
        return str(consume(event))


def members_by_id(app: Flask, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    page = app.test_client().get(f"{BASE}/members?per_page=200", headers=headers).get_json()
    return {item["member"]["id_number"]: item for item in page["items"]}


def account_of(app: Flask, headers: dict[str, str], id_number: str) -> dict[str, Any] | None:
    """The member opened with this ID (12.1's row), or None."""
    client = app.test_client()
    found = client.get(f"{BASE}/members/search?q={id_number}", headers=headers).get_json()
    if not found:
        return None
    page = client.get(f"{BASE}/queries/member-accounts?member_no={found[0]['member_no']}", headers=headers)
    return dict(page.get_json()["items"][0])
