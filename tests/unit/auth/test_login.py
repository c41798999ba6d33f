"""The login of manual ch. 1 against a real SoftHSM2 token through python-pkcs11."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from hall_common import db
from hall_common.security import KeyProvider, verify_token
from services.auth.keys import public_key_pem
from services.auth.models import AuditRecord, Challenge, Operator

from ..conftest import make_app
from ..ukey_support import PIN, challenge, issue, reset_password, signed_login, token
from .conftest import NEW_PASSWORD, A, B, bad_login, change_initial, full_login, message


def test_password_and_ukey_then_forced_change_then_choice_of_employer(
    client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    stage = signed_login(client, A, "111111", "UK-A").get_json()
    assert stage["stage"] == "change_password"
    assert stage["message"] == "首次登录或密码已重置，请先修改密码"
    # No business session before the initial password is changed.
    early = client.post("/auth/select", json={"ticket": stage["ticket"], "employer_no": A})
    assert early.status_code == 403
    assert message(early) == "请先修改密码"

    for weak, reason in (("abc123", "新密码长度不能少于8位"), ("abcdefgh", "新密码必须同时包含字母和数字"),
                         ("111111", "新密码长度不能少于8位")):
        refused = client.post("/auth/initial-password", json={"ticket": stage["ticket"], "new_password": weak})
        assert refused.status_code == 422
        assert reason in message(refused)

    selection = change_initial(client, stage)
    assert [e["employer_no"] for e in selection["employers"]] == [A, B]
    assert selection["employers"][1]["employer_name"] == "太原市示例商贸有限公司"
    chosen = client.post("/auth/select", json={"ticket": selection["ticket"], "employer_no": B})
    principal = verify_token(chosen.get_json()["token"], KeyProvider(public_key_pem()))
    assert principal.employer_no == B
    # The session carries the chosen account's permissions: the second demo account may only query.
    assert principal.permissions == {"employer_info", "employer_query", "member_query"}

    # The next login goes straight to the choice.
    again = signed_login(client, A, NEW_PASSWORD, "UK-A").get_json()
    assert again["stage"] == "select"
    # The change ticket was spent: replaying it sets no password, whatever the new password is.
    replayed = client.post("/auth/initial-password", json={"ticket": stage["ticket"], "new_password": "Another2026"})
    assert replayed.status_code == 401
    assert message(replayed) == "该登录步骤已完成或已超时，请重新登录"
    assert signed_login(client, A, NEW_PASSWORD, "UK-A").get_json()["stage"] == "select"


def test_a_key_cannot_choose_an_employer_it_does_not_manage(
    client: FlaskClient, center_headers: dict[str, str]
) -> None:
    issue(client, center_headers, "UK-B", [A])
    selection = change_initial(client, signed_login(client, A, "111111", "UK-B").get_json())
    assert [e["employer_no"] for e in selection["employers"]] == [A]
    refused = client.post("/auth/select", json={"ticket": selection["ticket"], "employer_no": B})
    assert refused.status_code == 403
    assert message(refused) == "该UKey无权管理所选单位账号"


def test_two_keys_for_one_employer(client: FlaskClient, center_headers: dict[str, str]) -> None:
    issue(client, center_headers, "UK-A", [A])
    issue(client, center_headers, "UK-B", [A])
    assert full_login(client, A, "UK-A")["principal"]["emp"] == A
    assert full_login(client, A, "UK-B")["principal"]["emp"] == A


def test_reissuing_a_token_revokes_its_old_certificate(
    client: FlaskClient, center_headers: dict[str, str], key_ab: dict[str, Any]
) -> None:
    issue(client, center_headers, "UK-A", [A])
    listed = client.get("/auth/ukeys", headers=center_headers).get_json()
    statuses = {u["certificate_serial"]: u["status"] for u in listed}
    assert statuses[key_ab["certificate_serial"]] == "revoked"
    assert list(statuses.values()).count("active") == 1
    old = signed_login(client, A, "111111", "UK-A", certificate=key_ab["certificate_pem"])
    assert old.get_json()["message"] == bad_login(4)
    assert signed_login(client, A, "111111", "UK-A").status_code == 200


def test_a_signature_by_another_key_is_refused(client: FlaskClient, center_headers: dict[str, str],
                                               key_ab: dict[str, Any]) -> None:
    token("UK-C").generate_key(PIN)  # a key the center never certified
    response = signed_login(client, A, "111111", "UK-C", certificate=key_ab["certificate_pem"])
    assert response.status_code == 401
    assert message(response) == bad_login(4)


def test_certificate_bound_to_another_employer_is_refused(client: FlaskClient, center_headers: dict[str, str]) -> None:
    issue(client, center_headers, "UK-B", [B])
    response = signed_login(client, A, "111111", "UK-B")
    assert response.status_code == 401
    assert message(response) == bad_login(4)


def test_revoked_certificate_is_refused(client: FlaskClient, center_headers: dict[str, str],
                                        key_ab: dict[str, Any]) -> None:
    revoked = client.post(f"/auth/ukeys/{key_ab['id']}/revoke", headers=center_headers)
    assert message(revoked) == "UKey证书已注销"
    response = signed_login(client, A, "111111", "UK-A")
    assert response.status_code == 401
    assert message(response) == bad_login(4)


def test_expired_and_foreign_certificates_are_refused(app: Flask, client: FlaskClient) -> None:
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from services.auth import ukeys

    generated = token("UK-C").generate_key(PIN)
    with app.app_context():
        past = datetime.now(UTC) - timedelta(days=400)
        expired = ukeys.issue("center01", generated["token_serial"], "UK-C", generated["public_key"], [A],
                              not_before=past, not_after=past + timedelta(days=365))
    token("UK-C").store_certificate(PIN, expired.certificate_pem)
    response = signed_login(client, A, "111111", "UK-C")
    assert message(response) == bad_login(4)

    other_ca = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "住房公积金管理中心 UKey CA")])
    forged = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
              .public_key(serialization.load_pem_public_key(generated["public_key"].encode()))  # type: ignore[arg-type]
              .serial_number(x509.random_serial_number()).not_valid_before(datetime.now(UTC) - timedelta(days=1))
              .not_valid_after(datetime.now(UTC) + timedelta(days=1)).sign(other_ca, hashes.SHA256()))
    forged_pem = forged.public_bytes(serialization.Encoding.PEM).decode()
    response = signed_login(client, A, "111111", "UK-C", certificate=forged_pem)
    assert response.status_code == 401
    assert message(response) == bad_login(3)


def test_challenges_are_single_use_short_lived_and_for_one_account(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    first = challenge(client, A)
    assert signed_login(client, A, "111111", "UK-A", challenge_body=first).status_code == 200
    replay = signed_login(client, A, "111111", "UK-A", challenge_body=first)
    assert replay.status_code == 401
    assert message(replay) == "登录挑战已使用，请重新登录"

    foreign = signed_login(client, A, "111111", "UK-A", challenge_body=challenge(client, B))
    assert message(foreign) == "登录挑战与当前账号不符，请重新登录"

    late = challenge(client, A)
    with app.app_context():
        db.session().execute(update(Challenge).where(Challenge.id == late["challenge_id"])
                             .values(expires_at=db.utcnow() - timedelta(seconds=1)))
        db.session().commit()
    expired = signed_login(client, A, "111111", "UK-A", challenge_body=late)
    assert message(expired) == "登录挑战已过期，请重新登录"


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    for left in (4, 3, 2, 1):
        wrong = signed_login(client, A, "wrong-pass1", "UK-A")
        assert wrong.status_code == 401
        assert message(wrong) == bad_login(left)
    locked = signed_login(client, A, "wrong-pass1", "UK-A")
    assert locked.status_code == 403
    assert message(locked) == "密码连续错误5次，账号已锁定15分钟"
    still = signed_login(client, A, "111111", "UK-A")
    assert still.status_code == 403
    assert message(still) == "密码连续错误次数过多，账号已锁定，请15分钟后再试"

    with app.app_context():  # fifteen minutes later
        db.session().execute(update(Operator).where(Operator.login_name == A)
                             .values(locked_until=db.utcnow() - timedelta(seconds=1)))
        db.session().commit()
    assert signed_login(client, A, "111111", "UK-A").get_json()["stage"] == "change_password"
    with app.app_context():
        assert db.session().scalar(select(Operator.failed_attempts).where(Operator.login_name == A)) == 0


def test_center_reset_gives_a_one_time_password_and_an_audit_record(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any], center_headers: dict[str, str],
    employer_headers: dict[str, str]
) -> None:
    full_login(client, A, "UK-A")
    assert client.post(f"/auth/operators/{A}/reset-password", headers=employer_headers).status_code == 403
    one_time = reset_password(client, center_headers, A)
    assert len(one_time) == 10
    assert signed_login(client, A, NEW_PASSWORD, "UK-A").status_code == 401
    stage = signed_login(client, A, one_time, "UK-A").get_json()
    assert stage["stage"] == "change_password"
    with app.app_context():
        record = db.session().scalar(select(AuditRecord).where(AuditRecord.action == "reset_password"))
    assert record is not None
    assert (record.actor, record.target) == ("center03", A)  # the confirming administrator
    audit = client.get("/audit-records", headers=center_headers).get_json()["items"]
    reset = next(r for r in audit if r["action"] == "reset_password" and r["target"] == A)
    # Before and after say what changed, never the password itself.
    assert reset["before"] == {"must_change_password": False, "locked": False}
    assert reset["after"] == {"must_change_password": True, "locked": False, "one_time_password": "已发放",
                              "requested_by": "center01", "confirmed_by": "center03"}
    assert one_time not in json.dumps(audit, ensure_ascii=False)


def test_center_sets_permissions_per_account(client: FlaskClient, center_headers: dict[str, str]) -> None:
    bad = client.put(f"/auth/operators/{B}/permissions", json={"permissions": ["fly"]}, headers=center_headers)
    assert bad.status_code == 422
    assert message(bad) == "不存在的权限：fly"
    ok = client.put(f"/auth/operators/{B}/permissions", json={"permissions": ["member_query", "employer_change"]},
                    headers=center_headers)
    assert ok.get_json()["permissions"] == ["employer_change", "member_query"]
    listed = {o["login_name"]: o for o in client.get("/auth/operators", headers=center_headers).get_json()}
    assert listed[B]["permissions"] == ["employer_change", "member_query"]


def test_change_password_when_logged_in_and_sound_preference(
    client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    session = full_login(client, A, "UK-A")
    headers = {"Authorization": f"Bearer {session['token']}"}
    assert session["sound_enabled"] is True
    wrong = client.post("/auth/password", json={"old_password": "nope", "new_password": "Another2026"}, headers=headers)
    assert wrong.status_code == 422
    assert message(wrong) == "原密码错误，还可尝试4次"
    done = client.post("/auth/password", json={"old_password": NEW_PASSWORD, "new_password": "Another2026"},
                       headers=headers)
    assert message(done) == "密码修改成功"
    off = client.post("/auth/sound", json={"sound_enabled": False}, headers=headers)
    assert off.get_json() == {"sound_enabled": False}
    stage = signed_login(client, A, "Another2026", "UK-A").get_json()
    chosen = client.post("/auth/select", json={"ticket": stage["ticket"], "employer_no": A}).get_json()
    assert chosen["sound_enabled"] is False


def test_large_text_preference_is_kept_per_operator(client: FlaskClient, key_ab: dict[str, Any]) -> None:
    session = full_login(client, A, "UK-A")
    headers = {"Authorization": f"Bearer {session['token']}"}
    assert session["large_text"] is False
    on = client.post("/auth/large-text", json={"large_text": True}, headers=headers)
    assert on.get_json() == {"large_text": True}
    assert message(client.post("/auth/large-text", json={}, headers=headers)) != ""
    # The next login (and only this operator's) starts in 大字模式.
    assert full_login(client, A, "UK-A")["large_text"] is True
    assert full_login(client, B, "UK-A")["large_text"] is False
    assert client.post("/auth/large-text", json={"large_text": True}).status_code == 401


def test_logout_revokes_the_token_in_every_service(app: Flask, client: FlaskClient, key_ab: dict[str, Any]) -> None:
    from hall_common.consumer import consume

    from ..conftest import outbox_events

    session = full_login(client, A, "UK-A")
    headers = {"Authorization": f"Bearer {session['token']}"}
    assert client.post("/auth/logout", headers=headers).get_json()["message"] == "已退出系统"
    [revoked] = [e for e in outbox_events(app) if e["type"] == "auth.session_revoked"]
    employer = make_app("employer")
    assert employer.test_client().get(f"/employers/{A}", headers=headers).status_code == 200
    for service_app in (app, employer):
        with service_app.app_context():
            assert consume(revoked) == "processed"
    refused = employer.test_client().get(f"/employers/{A}", headers=headers)
    assert refused.status_code == 401
    assert message(refused) == "已退出登录，请重新登录"
    assert client.post("/auth/sound", json={"sound_enabled": True}, headers=headers).status_code == 401


def test_center_login_with_lockout(client: FlaskClient) -> None:
    assert client.post("/auth/center-login", json={"login_name": A, "password": "111111"}).status_code == 401
    wrong = client.post("/auth/center-login", json={"login_name": "center01", "password": "bad"})
    assert message(wrong) == "登录名称或密码错误，还可尝试4次"
    ok = client.post("/auth/center-login", json={"login_name": "center01", "password": "center123"}).get_json()
    pem = client.get("/auth/public-key").get_json()["public_key"]
    assert verify_token(ok["token"], KeyProvider(pem)).role == "center"


def test_passwords_are_stored_with_argon2(app: Flask) -> None:
    with app.app_context():
        stored = db.session().scalar(select(Operator.password_hash).where(Operator.login_name == A))
    assert stored is not None and stored.startswith("$argon2id$")


def test_a_token_signed_by_another_key_is_refused() -> None:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    forged = jwt.encode({"sub": A, "role": "employer", "emp": A, "aud": "employer-hall"}, other, algorithm="ES256")
    response = make_app("employer").test_client().get(f"/employers/{A}", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
