"""The per-process memory of the token checks: a remembered token still expires on time, and a
revocation recorded by another process (the worker) is honoured within a second."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import text

from hall_common import db, security

from .conftest import make_app


def test_a_remembered_token_is_refused_once_it_expires(
    employer_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_app("employer").test_client()
    assert client.get("/employers/100100001", headers=employer_headers).status_code == 200
    later = time.time() + 24 * 3600
    monkeypatch.setattr(security.time, "time", lambda: later)
    refused = client.get("/employers/100100001", headers=employer_headers)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "登录已超时，请重新登录"


def test_a_revocation_written_by_another_process_is_honoured_within_a_second(
    employer_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app("employer")
    client = app.test_client()
    assert client.get("/employers/100100001", headers=employer_headers).status_code == 200
    token = employer_headers["Authorization"].removeprefix("Bearer ")
    token_id = jwt.decode(token, options={"verify_signature": False})["jti"]
    # As the worker's consumer would: a plain row, not through this process's code.
    with db.get_db(app).engine.begin() as connection:
        connection.execute(text("INSERT INTO revoked_sessions (token_id, expires_at) VALUES (:t, :e)"),
                           {"t": token_id, "e": db.utcnow() + timedelta(hours=1)})
    now = time.monotonic()
    monkeypatch.setattr(security.time, "monotonic", lambda: now + 1.01)
    refused = client.get("/employers/100100001", headers=employer_headers)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "已退出登录，请重新登录"

