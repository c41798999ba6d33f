"""Refresh tokens rotate at every renewal (services/auth/sessions.py): the replaced one answers with
the current one for a short grace (requests of one browser sent before the renewal reached it), and
afterwards, or any older one at any time, is a stolen copy: the session ends, audited, and the
revocation announced. Ten renewals at once with one token rotate it once, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from hall_common import db
from services.auth import sessions
from services.auth.models import AuditRecord, HallSession

from ...threads import at_once
from ..conftest import AnyDb, outbox_events
from ..ukey_support import issue
from .conftest import A, full_login, message


def _refresh(client: FlaskClient, refresh_token: str) -> Any:
    return client.post("/auth/refresh", json={"refresh_token": refresh_token})


def _row(app: Flask, session_id: str) -> HallSession:
    with app.app_context():
        row = db.session().get(HallSession, session_id)
        assert row is not None
        db.session().expunge(row)
        return row


def _age_rotation(app: Flask, session_id: str, seconds: int) -> None:
    with app.app_context():
        db.session().execute(update(HallSession).where(HallSession.id == session_id)
                             .values(refreshed_at=db.utcnow() - timedelta(seconds=seconds)))
        db.session().commit()


def test_each_renewal_rotates_and_a_replaced_token_after_the_grace_ends_the_session(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    login = full_login(client, A, "UK-A")
    first = login["refresh_token"]
    renewed = _refresh(client, first)
    assert renewed.status_code == 200
    second = renewed.get_json()["refresh_token"]
    assert second != first
    session_id = _row(app, first.split(".")[0]).id
    # The same browser's request sent before the new token reached it: the current token again.
    again = _refresh(client, first)
    assert again.status_code == 200 and again.get_json()["refresh_token"] == second
    assert _row(app, session_id).refresh_generation == 2  # answered, not rotated again
    third = _refresh(client, second).get_json()["refresh_token"]
    assert third not in (first, second)
    # Two generations back: a copy, even within the grace.
    stolen = _refresh(client, first)
    assert (stolen.status_code, message(stolen)) == (401, sessions.REFRESH_REUSED)
    row = _row(app, session_id)
    assert row.revoked_at is not None and row.revoked_reason == "refresh_reused"
    assert _refresh(client, third).status_code == 401  # the thief's use ends the owner's session too
    revoked = [e["data"]["token_id"] for e in outbox_events(app) if e["type"] == "auth.session_revoked"]
    assert revoked == [session_id]
    with app.app_context():
        [audit] = db.session().scalars(select(AuditRecord).where(AuditRecord.action == "refresh_token_reused")).all()
        assert (audit.actor, audit.target) == (A, session_id)
        assert "第1代" in audit.detail and "第3代" in audit.detail


def test_the_replaced_token_after_the_grace_time_is_a_copy(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    first = full_login(client, A, "UK-A")["refresh_token"]
    second = _refresh(client, first).get_json()["refresh_token"]
    session_id = first.split(".")[0]
    _age_rotation(app, session_id, 31)
    reused = _refresh(client, first)
    assert (reused.status_code, message(reused)) == (401, sessions.REFRESH_REUSED)
    assert _refresh(client, second).status_code == 401


def test_a_forged_or_unknown_token_is_refused_and_ends_nothing(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    current = full_login(client, A, "UK-A")["refresh_token"]
    session_id, generation, mac = current.split(".")
    forged = [f"{session_id}.0.{mac}", f"{session_id}.{generation}.{mac[:-2]}AA", f"{session_id}.1",
              f"{session_id}.99999999999999999999.{mac}", "unknown", f"{session_id}.\u0661.{mac}"]
    for token in forged:
        answer = _refresh(client, token)
        assert (answer.status_code, message(answer)) == (401, sessions.SESSION_GONE), token
    lone = client.post("/auth/refresh", data=f'{{"refresh_token": "{session_id}.1.\\ud800"}}',
                       content_type="application/json")  # a lone surrogate: refused as input, not a 500
    assert lone.status_code in (400, 422), lone.get_data(as_text=True)
    assert _row(app, session_id).revoked_at is None
    assert _refresh(client, current).status_code == 200


def test_a_session_from_before_rotation_rotates_at_its_next_renewal(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    current = full_login(client, A, "UK-A")["refresh_token"]
    session_id = current.split(".")[0]
    legacy = "a-random-token-of-an-older-auth-service"
    with app.app_context():  # as the migration leaves a session opened before: random token, generation 0
        db.session().execute(update(HallSession).where(HallSession.id == session_id)
                             .values(refresh_hash=sessions._digest(legacy), refresh_generation=0))
        db.session().commit()
    rotated = _refresh(client, legacy)
    assert rotated.status_code == 200
    assert rotated.get_json()["refresh_token"].startswith(f"{session_id}.1.")
    _age_rotation(app, session_id, 60)
    assert _refresh(client, legacy).status_code == 401  # replaced: no longer known (it carries no generation)
    assert _row(app, session_id).revoked_at is None
    assert _refresh(client, rotated.get_json()["refresh_token"]).status_code == 200


def test_ten_renewals_at_once_with_one_token_rotate_it_once(any_db: AnyDb, center_headers: dict[str, str]) -> None:
    app = any_db.app("auth")
    client = app.test_client()
    issue(client, center_headers, "UK-A", [A])
    first = full_login(client, A, "UK-A")["refresh_token"]
    answers = at_once([partial(_refresh, client, first) for _ in range(10)])
    statuses = sorted(getattr(a, "status_code", repr(a)) for a in answers)
    assert statuses == [200] * 10, statuses
    assert len({a.get_json()["refresh_token"] for a in answers}) == 1  # every tab holds the same next token
    assert _row(app, first.split(".")[0]).refresh_generation == 2
