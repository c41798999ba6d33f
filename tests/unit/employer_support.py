"""An employer operator's change requests through the employer service's API, for the tests of its
submissions, returns and outcomes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from .conftest import EMPLOYER_NO

BASE = f"/employers/{EMPLOYER_NO}"


def submit(app: Flask, headers: dict[str, str], changes: dict[str, str]) -> int:
    rows = [{"field": k, "value": v} for k, v in changes.items()]
    response = app.test_client().post(f"{BASE}/change-requests", json={"changes": rows}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["request"]["id"])


def resubmit(app: Flask, headers: dict[str, str], request_id: int, changes: dict[str, str]) -> Any:
    rows = [{"field": k, "value": v} for k, v in changes.items()]
    return app.test_client().put(f"{BASE}/change-requests/{request_id}", json={"changes": rows}, headers=headers)


def current(app: Flask, headers: dict[str, str]) -> Any:
    response = app.test_client().get(f"{BASE}/change-requests/current", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["request"]
