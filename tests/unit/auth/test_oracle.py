"""Login answers that tell an attacker nothing: a wrong password and a wrong UKey alike, an unknown
account name like a real one, every failure counted toward the lockout."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hall_common import db
from services.auth.models import Operator

from ..ukey_support import PIN, challenge, signed_login, token
from .conftest import A, B, bad_login, message


def test_a_wrong_password_and_a_wrong_ukey_get_the_same_answer_and_both_count(
    app: Flask, client: FlaskClient, key_ab: dict[str, Any]
) -> None:
    token("UK-C").generate_key(PIN)  # a key the center never certified
    certified = key_ab["certificate_pem"]
    for left in (4, 3):
        # A and B are fresh accounts in step: the same count, so the whole answers must be equal.
        wrong_password = signed_login(client, A, "wrong-pass1", "UK-A")
        wrong_key = signed_login(client, B, "111111", "UK-C", certificate=certified)
        assert (wrong_password.status_code, wrong_password.get_json()) == (wrong_key.status_code, wrong_key.get_json())
        assert wrong_password.status_code == 401
        assert message(wrong_password) == bad_login(left)
    # A certificate that is no certificate and a signature that is no signature: the same answer too.
    garbled = signed_login(client, B, "111111", "UK-A", certificate="-----BEGIN CERTIFICATE-----\nAAAA")
    assert (garbled.status_code, message(garbled)) == (401, bad_login(2))
    found = challenge(client, A)
    unsigned = client.post("/auth/login", json={
        "employer_no": A, "login_name": A, "password": "111111", "challenge_id": found["challenge_id"],
        "certificate": certified, "signature": "not base64!"})
    assert (unsigned.status_code, message(unsigned)) == (401, bad_login(2))
    with app.app_context():
        rows = db.session().execute(select(Operator.login_name, Operator.failed_attempts)
                                    .where(Operator.login_name.in_([A, B])))
        counts = {name: failures for name, failures in rows}
    assert counts == {A: 3, B: 3}
    # Both kinds of failure lead to the same lock.
    signed_login(client, A, "wrong-pass1", "UK-A")
    locked = signed_login(client, A, "111111", "UK-C", certificate=certified)
    assert (locked.status_code, message(locked)) == (403, "密码连续错误5次，账号已锁定15分钟")


def test_an_unknown_account_gets_the_same_answer_with_a_count(client: FlaskClient, key_ab: dict[str, Any]) -> None:
    from services.auth import ghosts

    ghosts._memory.reset()
    found = challenge(client, "999999999")
    response = signed_login(client, "999999999", "111111", "UK-A", challenge_body=found)
    assert (response.status_code, message(response)) == (401, bad_login(4))
    other_employer = client.post("/auth/login", json={**_login_fields(client, A, "111111"), "employer_no": B})
    assert (other_employer.status_code, message(other_employer)) == (401, bad_login(4))
    assert signed_login(client, A, "111111", "UK-A").get_json()["stage"] == "change_password"


def _login_fields(client: FlaskClient, login: str, password: str) -> dict[str, str]:
    import base64

    from ukey_agent import LOGIN_PREFIX

    found = challenge(client, login)
    signature = token("UK-A").sign(PIN, LOGIN_PREFIX + base64.b64decode(found["nonce"]))
    return {"employer_no": login, "login_name": login, "password": password, "challenge_id": found["challenge_id"],
            "certificate": token("UK-A").certificate_pem() or "", "signature": base64.b64encode(signature).decode()}


def test_an_unknown_account_name_is_answered_as_a_real_one(client: FlaskClient, key_ab: dict[str, Any]) -> None:
    """Counting down and locking only real accounts told an attacker which names exist."""
    from services.auth import ghosts

    ghosts._memory.reset()  # the unit tests' Redis is a closed port: counted in memory

    def answers(login: str) -> list[tuple[int, str]]:
        return [(r.status_code, message(r)) for r in (signed_login(client, login, "wrong-1", "UK-A") for _ in range(6))]

    real = answers(A)
    assert real[:4] == [(401, bad_login(left)) for left in (4, 3, 2, 1)]
    assert answers("999999999") == real
    center = [client.post("/auth/center-login", json={"login_name": name, "password": "bad"}) for name in
              ("center01", "center01", "nobody99", "nobody99")]
    assert [(r.status_code, message(r)) for r in center] == [(401, "登录名称或密码错误，还可尝试4次"),
                                                            (401, "登录名称或密码错误，还可尝试3次")] * 2
