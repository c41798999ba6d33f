"""The audit records name the actor's login factor (docs/audit.md): taken from the request's token (its
amr) unless the caller names it, covered by the chain's hash when present (an edited factor is found),
while a record without one hashes exactly as before the field existed, so older chains still verify;
the export carries it and verifies offline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Flask, g

from hall_common import audit, audit_chain, db
from hall_common.audit_chain import GENESIS, chain_hash
from hall_common.security import Principal
from services.member.models import AuditRecord

from .test_audit_chain import app, center_headers, export_to, rows, sql, verdict  # noqa: F401 (the fixture)


def _principal(amr: tuple[str, ...]) -> Principal:
    return Principal(login_name="center01", role="center", display_name="李明", amr=amr)


def test_the_factor_comes_from_the_requests_token_unless_named(app: Flask) -> None:  # noqa: F811
    with app.test_request_context():
        g.principal = _principal(("pwd", "otp"))
        audit.record(db.session(), AuditRecord, "center01", "policy_update", "政策参数")
        audit.record(db.session(), AuditRecord, "center01", "policy_update", "政策参数", factor="password")
        g.principal = _principal(())  # a token issued outside a session: no factor to name
        audit.record(db.session(), AuditRecord, "center01", "policy_update", "政策参数")
        db.session().commit()
    with app.app_context():  # an event handler or a command: no request
        audit.record(db.session(), AuditRecord, "worker", "policy_update", "政策参数")
        db.session().commit()
    assert [r.factor for r in rows(app)] == ["totp", "password", None, None]
    assert verdict(app).ok


def test_a_record_without_a_factor_hashes_as_before_and_one_with_it_covers_it(app: Flask) -> None:  # noqa: F811
    content = {"id": 1, "actor": "center01", "action": "policy_update", "target": "政策参数", "detail": "",
               "before": None, "after": None, "at": "2026-12-04T20:00:00.000000"}
    # The rule as migrations 0010 (auth), 0008 (member), 0007 (workflow) chained the records already there.
    old = hashlib.sha256(json.dumps({**content, "prev_hash": GENESIS}, ensure_ascii=False, sort_keys=True,
                                    separators=(",", ":")).encode("utf-8")).hexdigest()
    assert chain_hash(content, GENESIS) == old
    assert chain_hash({**content, "factor": None}, GENESIS) == old
    assert chain_hash({**content, "factor": "totp"}, GENESIS) != old
    with app.test_request_context():
        g.principal = _principal(("pwd", "otp"))
        for i in range(3):
            audit.record(db.session(), AuditRecord, "center01", "policy_update", f"政策参数 {i}")
            db.session().commit()
    assert verdict(app).ok
    sql(app, "UPDATE audit_records SET factor = 'password' WHERE id = 2")
    found = verdict(app)
    assert not found.ok and found.broken_id == 2 and found.reason == audit_chain.ALTERED
    sql(app, "UPDATE audit_records SET factor = NULL WHERE id = 2")  # removing it is an edit too
    assert verdict(app).broken_id == 2


def test_an_export_carries_the_factor_and_verifies_offline(app: Flask, tmp_path: Path) -> None:  # noqa: F811
    with app.app_context():
        audit.record(db.session(), AuditRecord, "worker", "policy_update", "政策参数")  # no factor
        db.session().commit()
    with app.test_request_context():
        g.principal = _principal(("pwd", "otp"))
        audit.record(db.session(), AuditRecord, "center01", "policy_update", "政策参数")
        db.session().commit()
    exported = export_to(app, tmp_path / "export.jsonl")
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    assert "factor" not in lines[1] and lines[2]["factor"] == "totp"
    assert audit_chain.verify_file(exported).ok
    edited = tmp_path / "edited.jsonl"
    edited.write_text(exported.read_text(encoding="utf-8").replace('"factor": "totp"', '"factor": "ukey"'),
                      encoding="utf-8")
    assert audit_chain.verify_file(edited).broken_id == 2
    listed = app.test_client().get("/audit-records", headers=center_headers()).get_json()["items"]
    assert [item["factor"] for item in listed] == ["totp", None]
