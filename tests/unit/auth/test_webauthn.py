"""Security keys (FIDO2/WebAuthn) of employer accounts: py_webauthn's own test vectors through the hall's
checks (relying party, origin, user verification, counter), and the service's rules with a software
authenticator: registration, login through the same lockout as the UKey, clones, revocation, the
center's switch, single-use challenges and enrolment codes under concurrent use."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from hall_common import db
from hall_common.settings import reset_settings
from services.auth import sessions, webauthn_keys
from services.auth.models import HallSession, Operator, WebAuthnCredential

from ...threads import at_once
from ..conftest import AnyDb, auth, token_for
from ..webauthn_support import Attester, SoftKey, audits, webauthn_settings
from .conftest import NEW_PASSWORD, A, B, bad_login, change_initial, message

# -- the service with a software authenticator --------------------------------------------------------

def _employer(login_name: str) -> dict[str, str]:
    return auth(token_for(employer_no=login_name, login_name=login_name))


def enrol(client: FlaskClient, login_name: str, key: SoftKey, name: str = "办公室钥匙") -> Any:
    headers = _employer(login_name)
    options = client.post("/auth/webauthn/keys/options", headers=headers).get_json()
    return client.post("/auth/webauthn/keys", headers=headers, json={
        "challenge_id": options["challenge_id"], "credential": key.create(options["options"]), "name": name})


def key_login(client: FlaskClient, login_name: str, password: str, key: SoftKey,
              employer_no: str | None = None) -> Any:
    options = client.post("/auth/webauthn/login-options",
                          json={"employer_no": employer_no or login_name, "login_name": login_name}).get_json()
    return client.post("/auth/webauthn/login", json={
        "employer_no": employer_no or login_name, "login_name": login_name, "password": password,
        "challenge_id": options["challenge_id"], "credential": key.get(options["options"])})


def session_with_key(client: FlaskClient, login_name: str, key: SoftKey) -> dict[str, Any]:
    """Log in with password and key (changing the initial password at the first login) and choose."""
    stage = key_login(client, login_name, "111111", key).get_json()
    if stage.get("stage") == "change_password":
        stage = change_initial(client, stage)
    else:
        stage = key_login(client, login_name, NEW_PASSWORD, key).get_json()
    assert stage["stage"] == "select", stage
    assert [e["employer_no"] for e in stage["employers"]] == [login_name]  # its own employer only
    chosen = client.post("/auth/select", json={"ticket": stage["ticket"], "employer_no": login_name})
    assert chosen.status_code == 200, chosen.get_json()
    return dict(chosen.get_json())


def test_enrol_then_log_in_with_password_and_key_then_remove_it(client: FlaskClient) -> None:
    key = SoftKey()
    registered = enrol(client, A, key)
    assert registered.status_code == 201, registered.get_json()
    assert registered.get_json()["name"] == "办公室钥匙"
    opened = session_with_key(client, A, key)
    assert opened["principal"]["emp"] == A
    # A session the key opened does not add keys: a stolen key and password must not plant another.
    refused = client.post("/auth/webauthn/keys/options", headers=auth(opened["token"]))
    assert refused.status_code == 403 and message(refused) == webauthn_keys.NEEDS_UKEY
    # The same key registered twice is refused (the browser excludes it; a forged answer is refused here).
    assert enrol(client, A, key).status_code in (409, 422)
    listed = client.get("/auth/webauthn/keys", headers=_employer(A)).get_json()
    assert [k["name"] for k in listed] == ["办公室钥匙"]
    # Another employer's session cannot remove it: the key is missing for it.
    assert client.delete(f"/auth/webauthn/keys/{listed[0]['id']}", headers=_employer(B)).status_code == 404
    assert client.delete(f"/auth/webauthn/keys/{listed[0]['id']}", headers=_employer(A)).status_code == 200
    # The session the removed key opened (a finder's, with the password) ends with it.
    assert client.post("/auth/refresh", json={"refresh_token": opened["refresh_token"]}).status_code == 401
    assert key_login(client, A, NEW_PASSWORD, key).get_json()["message"] == bad_login(4)


def test_wrong_unknown_cloned_or_unverified_keys_cost_a_try_like_a_wrong_password_and_lock(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = SoftKey()
    assert enrol(client, A, key).status_code == 201
    session_with_key(client, A, key)
    stranger = SoftKey()
    assert enrol(client, B, stranger).status_code == 201
    # A key of another account, a key never registered, the right key with a wrong password.
    assert message(key_login(client, A, NEW_PASSWORD, stranger)) == bad_login(4)
    assert message(key_login(client, A, NEW_PASSWORD, SoftKey())) == bad_login(3)
    assert message(key_login(client, A, "Wrong2026x", key)) == bad_login(2)
    # A copy of the key whose counter stands behind: the signature is right, the login refused, audited.
    assert message(key_login(client, A, NEW_PASSWORD, key.clone(sign_count=1))) == bad_login(1)
    with app.app_context():
        [record] = audits("webauthn_counter_regression")
        assert record.target == A and "疑似被复制" in record.detail
    fifth = key_login(client, A, NEW_PASSWORD, stranger)  # the fifth failure locks the account
    assert fifth.status_code == 403 and "账号已锁定" in message(fifth)
    refused = key_login(client, A, NEW_PASSWORD, key)  # and then the right password and key are refused too
    assert refused.status_code == 403 and "账号已锁定" in message(refused)
    # An account that does not exist gets the same options and counts down the same way.
    options = client.post("/auth/webauthn/login-options", json={"employer_no": "999", "login_name": "999"})
    assert sorted(options.get_json()) == ["challenge_id", "options"]
    assert options.get_json()["options"].get("allowCredentials", []) == []
    assert message(key_login(client, "999", "x", SoftKey())) == bad_login(4)


def test_user_verification_is_required_by_the_setting(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    without_pin = SoftKey(user_verified=False)
    assert enrol(client, A, without_pin).status_code == 422
    webauthn_settings(monkeypatch, user_verification="preferred")
    assert enrol(client, A, without_pin).status_code == 201
    webauthn_settings(monkeypatch, user_verification="required")
    assert message(key_login(client, A, "111111", without_pin)) == bad_login(4)


def test_direct_attestation_admits_only_the_listed_models_attested_by_a_known_vendor(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    listed = uuid.UUID("cb69481e-8ff7-4039-93ec-0a2729a154a8")
    vendor, stranger = Attester.make("Vendor"), Attester.make("Stranger")
    roots = tmp_path / "roots.pem"
    roots.write_bytes(b"# the vendors' roots\n" + vendor.root_pem())
    webauthn_settings(monkeypatch, attestation="direct", aaguids=str(listed), attestation_roots=str(roots))
    headers = _employer(A)

    def register(key: SoftKey, fmt: str, attester: Attester | None) -> Any:
        options = client.post("/auth/webauthn/keys/options", headers=headers).get_json()
        assert options["options"]["attestation"] == "direct"
        return client.post("/auth/webauthn/keys", headers=headers, json={
            "challenge_id": options["challenge_id"], "name": "型号测试",
            "credential": key.create(options["options"], fmt=fmt, attestation=attester)})

    for key, fmt, attester in ((SoftKey(aaguid=listed.bytes), "none", None),  # no attestation at all
                               (SoftKey(aaguid=listed.bytes), "packed", None),  # vouching for itself
                               (SoftKey(aaguid=uuid.uuid4().bytes), "packed", vendor)):  # a model not listed
        refused = register(key, fmt, attester)
        assert refused.status_code == 422 and message(refused) == webauthn_keys.NOT_ADMITTED, (fmt, attester)
    # A listed model's AAGUID claimed under another vendor's certificate: its chain reaches no known root.
    forged = register(SoftKey(aaguid=listed.bytes), "packed", stranger)
    assert forged.status_code == 422
    admitted = register(SoftKey(aaguid=listed.bytes), "packed", vendor)
    assert admitted.status_code == 201, admitted.get_json()
    assert admitted.get_json()["aaguid"] == str(listed)


def test_a_center_revocation_ends_the_accounts_sessions_and_refuses_the_key(
    client: FlaskClient, app: Flask, center_headers: dict[str, str]
) -> None:
    key = SoftKey()
    assert enrol(client, A, key).status_code == 201
    session_with_key(client, A, key)
    [listed] = client.get("/auth/webauthn/admin/keys", headers=center_headers).get_json()
    revoked = client.post(f"/auth/webauthn/admin/keys/{listed['id']}/revoke", headers=center_headers)
    assert revoked.status_code == 200, revoked.get_json()
    with app.app_context():
        live = db.session().scalars(select(HallSession).where(HallSession.login_name == A,
                                                              HallSession.revoked_at.is_(None)))
        assert list(live) == []
        ended = db.session().scalars(select(HallSession.revoked_reason).where(HallSession.login_name == A))
        assert set(ended) == {"webauthn_revoked"}
        assert [a.actor for a in audits("webauthn_revoke")] == ["center01"]
    assert message(key_login(client, A, NEW_PASSWORD, key)) == bad_login(4)


def test_the_centers_switch_refuses_registration_and_login(
    client: FlaskClient, app: Flask, center_headers: dict[str, str]
) -> None:
    key = SoftKey()
    assert enrol(client, A, key).status_code == 201
    by_key = session_with_key(client, A, key)
    with app.app_context():
        operator = db.session().scalar(select(Operator).where(Operator.login_name == A))
        assert operator is not None
        by_ukey = sessions.open_session(operator, factor="ukey")
    switches = client.get("/auth/webauthn/switches", headers=center_headers).get_json()
    assert {s["employer_no"]: s["allowed"] for s in switches}[A] is True  # the demo employers: allowed
    off = client.put(f"/auth/webauthn/switches/{A}", json={"allowed": False}, headers=center_headers)
    assert off.status_code == 200
    # The session the key opened ends at once; the UKey's goes on.
    assert client.post("/auth/refresh", json={"refresh_token": by_key["refresh_token"]}).status_code == 401
    assert client.post("/auth/refresh", json={"refresh_token": by_ukey["refresh_token"]}).status_code == 200
    with app.app_context():
        ended = db.session().scalars(select(HallSession.revoked_reason).where(HallSession.login_name == A))
        assert sorted(map(str, ended)) == ["None", "webauthn_switched_off"]
    assert message(key_login(client, A, "111111", key)) == bad_login(4)
    refused = client.post("/auth/webauthn/keys/options", headers=_employer(A))
    assert refused.status_code == 403 and message(refused) == webauthn_keys.NOT_ALLOWED
    assert client.post(f"/auth/webauthn/codes/{A}", headers=center_headers).status_code == 409
    with app.app_context():
        [record] = audits("webauthn_switch")
        assert (record.before, record.after) == ('{"allowed": true}', '{"allowed": false}')
    # An employer the center never decided on is not allowed (the safe default).
    with app.app_context():
        assert webauthn_keys.allowed("100100099") is False


@pytest.fixture
def any_client(any_db: AnyDb) -> FlaskClient:
    """The auth service on SQLite, then on PostgreSQL (where the racing transactions truly overlap)."""
    return any_db.app("auth").test_client()


def test_a_challenge_serves_one_login_of_two_at_once(any_client: FlaskClient) -> None:
    client = any_client
    key = SoftKey()
    assert enrol(client, A, key).status_code == 201
    options = client.post("/auth/webauthn/login-options", json={"employer_no": A, "login_name": A}).get_json()
    body = {"employer_no": A, "login_name": A, "password": "111111", "challenge_id": options["challenge_id"]}
    answers = [key.get(options["options"]), key.get(options["options"])]
    results = at_once([lambda c=c: client.post("/auth/webauthn/login", json={**body, "credential": c})
                       for c in answers])
    assert sorted(r.status_code for r in results) == [200, 401]
    assert "登录挑战已使用" in next(message(r) for r in results if r.status_code == 401)


def test_of_two_logins_at_once_with_one_count_of_the_key_one_is_the_clones(
    any_client: FlaskClient, any_db: AnyDb
) -> None:
    """The original and its copy sign with the same next count at the same moment: the counter moves once,
    the other login is refused and audited (the conditional update on the stored count decides)."""
    client = any_client
    key = SoftKey()
    assert enrol(client, A, key).status_code == 201
    copy = key.clone(key.sign_count)
    bodies = []
    for signer in (key, copy):
        options = client.post("/auth/webauthn/login-options", json={"employer_no": A, "login_name": A}).get_json()
        bodies.append({"employer_no": A, "login_name": A, "password": "111111",
                       "challenge_id": options["challenge_id"], "credential": signer.get(options["options"])})
    results = at_once([lambda b=b: client.post("/auth/webauthn/login", json=b) for b in bodies])
    assert sorted(r.status_code for r in results) == [200, 401], [r.get_json() for r in results]
    with any_db.apps[0].app_context():
        assert len(audits("webauthn_counter_regression")) == 1
        assert db.session().scalar(select(WebAuthnCredential.sign_count)) == key.sign_count


def test_an_enrolment_code_serves_one_registration_of_two_at_once(
    any_client: FlaskClient, any_db: AnyDb, center_headers: dict[str, str]
) -> None:
    client, app = any_client, any_db.apps[0]
    issued = client.post(f"/auth/webauthn/codes/{B}", headers=center_headers)
    assert issued.status_code == 201, issued.get_json()
    code = issued.get_json()["code"]
    start = {"employer_no": B, "login_name": B, "password": "111111"}
    wrong = client.post("/auth/webauthn/enrolment-options", json={**start, "code": "AAAA-BBBB-CCCC"})
    assert message(wrong) == bad_login(4)  # a wrong code costs a try like a wrong password
    ceremonies = []
    for _ in range(2):
        options = client.post("/auth/webauthn/enrolment-options", json={**start, "code": code})
        assert options.status_code == 200, options.get_json()
        ceremonies.append((options.get_json(), SoftKey()))
    results = at_once([lambda o=o, k=k: client.post("/auth/webauthn/enrolment", json={
        "login_name": B, "code": code, "challenge_id": o["challenge_id"], "credential": k.create(o["options"]),
        "name": "新钥匙"}) for o, k in ceremonies])
    assert sorted(r.status_code for r in results) == [201, 409], [r.get_json() for r in results]
    with app.app_context():
        assert len(list(db.session().scalars(select(WebAuthnCredential)))) == 1
        assert [a.action for a in audits("webauthn_code_issue")] == ["webauthn_code_issue"]
    # Spent: a third use is refused (the count restarted at the right password and code above).
    options = client.post("/auth/webauthn/enrolment-options", json={**start, "code": code})
    assert message(options) == bad_login(4)


def test_a_challenge_serves_only_the_step_it_was_taken_for(client: FlaskClient, center_headers: dict[str, str]) -> None:
    """A login's challenge, which anyone may ask for by name, never serves a registration: a leaked enrolment
    code without the password (checked when the registration's options are asked for) registers nothing."""
    code = client.post(f"/auth/webauthn/codes/{B}", headers=center_headers).get_json()["code"]
    for taken in (client.post("/auth/webauthn/login-options", json={"employer_no": B, "login_name": B}),
                  client.post("/auth/challenge", json={"employer_no": B, "login_name": B})):
        options = taken.get_json()
        credential = SoftKey().create(options.get("options") or {"challenge": "AAAA"})
        refused = client.post("/auth/webauthn/enrolment", json={
            "login_name": B, "code": code, "challenge_id": options["challenge_id"], "credential": credential,
            "name": "冒领的钥匙"})
        assert refused.status_code == 401 and message(refused) == "登录挑战无效，请重新登录", refused.get_json()
    # Nor does a registration's challenge serve a login.
    registration = client.post("/auth/webauthn/keys/options", headers=_employer(A)).get_json()
    key = SoftKey()
    login = client.post("/auth/webauthn/login", json={
        "employer_no": A, "login_name": A, "password": "111111", "challenge_id": registration["challenge_id"],
        "credential": key.get(registration["options"])})
    assert login.status_code == 401 and message(login) == "登录挑战无效，请重新登录"


def test_the_key_logins_options_and_the_code_enrolment_are_rate_limited_like_the_ukeys_challenge(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each stores a challenge or checks a password: the same limits per account (and per address)."""
    from ..conftest import make_app

    monkeypatch.setenv("HALL_CHALLENGE_LIMIT_PER_ACCOUNT", "3 per minute")
    reset_settings()
    client = make_app("auth").test_client()

    def options(login: str, address: str) -> int:
        return int(client.post("/auth/webauthn/login-options", json={"employer_no": login, "login_name": login},
                               environ_base={"REMOTE_ADDR": address}).status_code)

    def enrolment(address: str) -> int:
        return int(client.post("/auth/webauthn/enrolment-options", environ_base={"REMOTE_ADDR": address}, json={
            "employer_no": B, "login_name": B, "password": "wrong-guess1", "code": "AAAA-BBBB-CCCC"}).status_code)

    assert [options(A, f"203.0.113.{i}") for i in range(3)] == [200, 200, 200]
    refused = client.post("/auth/webauthn/login-options", json={"employer_no": A, "login_name": A},
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 429 and message(refused) == "登录请求过于频繁，请稍后再试"
    assert [enrolment(f"198.51.100.{i}") for i in range(3)] == [401, 401, 401]
    assert enrolment("198.51.100.9") == 429  # before the lockout's fifth try


def test_the_settings_refuse_direct_attestation_without_models_or_roots_and_origins_without_a_scheme(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    from pydantic import ValidationError

    from hall_common.settings import Settings

    monkeypatch.setenv("HALL_WEBAUTHN_ATTESTATION", "direct")
    with pytest.raises(ValidationError, match="HALL_WEBAUTHN_AAGUIDS"):
        Settings()
    monkeypatch.setenv("HALL_WEBAUTHN_AAGUIDS", "cb69481e-8ff7-4039-93ec-0a2729a154a8")
    with pytest.raises(ValidationError, match="HALL_WEBAUTHN_ATTESTATION_ROOTS"):
        Settings()
    monkeypatch.setenv("HALL_WEBAUTHN_ATTESTATION", "none")
    monkeypatch.setenv("HALL_WEBAUTHN_ORIGINS", "dwwt.example.gov.cn")
    with pytest.raises(ValidationError, match="HALL_WEBAUTHN_ORIGINS"):
        Settings()
    monkeypatch.setenv("HALL_WEBAUTHN_ORIGINS", "https://a.example.cn/, https://b.example.cn")
    assert Settings().webauthn_origins == "https://a.example.cn,https://b.example.cn"
