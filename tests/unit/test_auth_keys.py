"""The center's CA (never regenerated silently, optionally held by an HSM) and the challenge rate limit."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from deploy.ukey import SOFTHSM_MODULE
from hall_common.settings import reset_settings
from services.auth import keys

from .conftest import make_app
from .ukey_support import PIN, issue, signed_login

ROOT = Path(__file__).resolve().parents[2]
A = "100100001"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ca_paths(var: Path) -> tuple[Path, Path]:
    return var / "auth_ca_key.pem", var / "auth_ca_cert.pem"


# -- the CA is created once, explicitly, and checked at start -------------------------------------------

def test_init_ca_writes_private_files_and_refuses_to_replace_them(hall_env: Path) -> None:
    certificate = keys.init_ca()
    key_path, cert_path = _ca_paths(hall_env)
    for path in (key_path, cert_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    before = key_path.read_bytes()
    with pytest.raises(keys.CAError, match="already exists"):
        keys.init_ca()
    assert keys.main(["init-ca"]) == 1
    assert key_path.read_bytes() == before
    assert not [p for p in hall_env.iterdir() if p.name.startswith(".auth_ca")]  # no temporary files left


def test_the_token_signing_key_is_created_once_and_private(hall_env: Path) -> None:
    first = keys.private_key_pem()
    keys.private_key_pem.cache_clear()
    assert keys.private_key_pem() == first
    assert stat.S_IMODE((hall_env / "auth_signing_key.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize("lost", ["certificate", "key"])
def test_the_auth_service_refuses_to_start_without_its_ca(hall_env: Path, lost: str) -> None:
    from services.auth import create_app

    keys.init_ca()
    key_path, cert_path = _ca_paths(hall_env)
    (cert_path if lost == "certificate" else key_path).unlink()
    keys.ca.cache_clear()
    with pytest.raises(keys.CAError) as refused:
        create_app({"TESTING": True})
    missing = cert_path if lost == "certificate" else key_path
    assert f"{missing} is missing" in str(refused.value)
    assert "python -m services.auth.keys init-ca" in str(refused.value)
    # And nothing was regenerated behind the operator's back.
    assert not missing.exists()


def test_the_auth_service_refuses_a_key_that_does_not_match_its_certificate(hall_env: Path) -> None:
    from services.auth import create_app

    keys.init_ca()
    key_path, _ = _ca_paths(hall_env)
    key_path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    keys.ca.cache_clear()
    with pytest.raises(keys.CAError, match="does not match the certificate"):
        create_app({"TESTING": True})


def test_gunicorn_does_not_boot_the_auth_service_without_a_ca(hall_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALL_")}
    env.update(HALL_VAR_DIR=str(hall_env), PYTHONPATH=str(ROOT))
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = subprocess.run(
        [str(gunicorn), "-w", "1", "-b", f"127.0.0.1:{_free_port()}", "--no-control-socket",
         "services.auth:create_app()"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "auth_ca_cert.pem is missing" in result.stderr
    assert not _ca_paths(hall_env)[1].exists()


def test_prepare_creates_a_ca_only_where_none_ever_issued_a_ukey(hall_env: Path,
                                                                 center_headers: dict[str, str]) -> None:
    from deploy import prepare
    from hall_common import migrate

    migrate.upgrade("auth")
    prepare.ensure_ca()  # a new installation: created
    key_path, cert_path = _ca_paths(hall_env)
    first = cert_path.read_bytes()
    prepare.ensure_ca()  # the next start: kept
    assert cert_path.read_bytes() == first
    issue(make_app("auth").test_client(), center_headers, "UK-C", [A])
    key_path.unlink()
    cert_path.unlink()
    keys.ca.cache_clear()
    with pytest.raises(keys.CAError, match="UKeys were issued by it"):
        prepare.ensure_ca()
    assert not cert_path.exists()


# -- the CA key on a PKCS#11 token ------------------------------------------------------------------------

def test_a_ukey_certified_by_an_hsm_held_ca_verifies_and_logs_in(
    hall_env: Path, monkeypatch: pytest.MonkeyPatch, center_headers: dict[str, str]
) -> None:
    for name, value in (("MODULE", SOFTHSM_MODULE), ("TOKEN_LABEL", "HALL-CA"), ("PIN", PIN),
                        ("KEY_LABEL", "test-ukey-ca")):
        monkeypatch.setenv(f"HALL_CA_PKCS11_{name}", value)
    reset_settings()
    keys.ca.cache_clear()

    ca_certificate = keys.init_ca()
    key_path, cert_path = _ca_paths(hall_env)
    assert cert_path.exists() and not key_path.exists()  # the private key exists only on the token
    public = ca_certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    ca_certificate.verify_directly_issued_by(ca_certificate)  # self-signed by the token
    with pytest.raises(keys.CAError, match="already exists"):
        keys.init_ca()

    client = make_app("auth").test_client()
    issued = issue(client, center_headers, "UK-B", [A])
    certificate = x509.load_pem_x509_certificate(issued["certificate_pem"].encode())
    certificate.verify_directly_issued_by(ca_certificate)
    public.verify(certificate.signature, certificate.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    assert certificate.signature_hash_algorithm is not None
    assert certificate.signature_hash_algorithm.name == "sha256"
    assert signed_login(client, A, "111111", "UK-B").get_json()["stage"] == "change_password"

    # A wrong PIN (or token) stops the service at start, naming the settings to fix.
    monkeypatch.setenv("HALL_CA_PKCS11_PIN", "654321")
    reset_settings()
    keys.ca.cache_clear()
    from services.auth import create_app

    with pytest.raises(keys.CAError, match="cannot open the CA token 'HALL-CA'.*HALL_CA_PKCS11_"):
        create_app({"TESTING": True})

    # The token's private key cannot be read out.
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    with pkcs11.lib(SOFTHSM_MODULE).get_token(token_label="HALL-CA").open(user_pin=PIN) as session:
        private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label="test-ukey-ca")
        assert private[Attribute.SENSITIVE] and not private[Attribute.EXTRACTABLE]


# -- the challenge rate limit ------------------------------------------------------------------------------

def _challenge(client: Any, login: str, address: str = "203.0.113.7", **headers: str) -> Any:
    return client.post("/auth/challenge", json={"employer_no": login, "login_name": login},
                       environ_base={"REMOTE_ADDR": address}, headers=headers)


def test_challenges_are_limited_per_account_with_a_chinese_429(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_CHALLENGE_LIMIT_PER_ACCOUNT", "3 per minute")
    reset_settings()
    client = make_app("auth").test_client()
    # From three different addresses: the limit follows the account.
    assert [_challenge(client, A, f"203.0.113.{i}").status_code for i in range(3)] == [200, 200, 200]
    refused = _challenge(client, A, "203.0.113.9")
    assert refused.status_code == 429
    assert refused.get_json() == {"code": 429, "status": "Too Many Requests", "message": "登录请求过于频繁，请稍后再试"}
    assert int(refused.headers["Retry-After"]) > 0
    assert _challenge(client, "100100002").status_code == 200  # another account is not affected


def test_challenges_are_limited_per_client_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_CHALLENGE_LIMIT_PER_ADDRESS", "4 per minute")
    reset_settings()
    client = make_app("auth").test_client()
    assert [_challenge(client, f"10010{i:04d}").status_code for i in range(4)] == [200] * 4
    assert _challenge(client, "100100099").status_code == 429
    assert _challenge(client, "100100099", "198.51.100.1").status_code == 200
    # The gateway (a trusted proxy) forwards the browser's address; others cannot choose theirs.
    forwarded = [_challenge(client, "100100098", "127.0.0.1", **{"X-Forwarded-For": f"192.0.2.{i}"}).status_code
                 for i in range(5)]
    assert forwarded == [200] * 5
    spoofed = _challenge(client, "100100097", "203.0.113.7", **{"X-Forwarded-For": "192.0.2.200"})
    assert spoofed.status_code == 429


def test_the_centers_password_login_is_limited_like_the_challenge(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALL_CHALLENGE_LIMIT_PER_ACCOUNT", "3 per minute")
    reset_settings()
    client = make_app("auth").test_client()

    def center_login(address: str) -> int:
        return int(client.post("/auth/center-login", json={"login_name": "center01", "password": "wrong-guess1"},
                               environ_base={"REMOTE_ADDR": address}).status_code)

    # Password spraying from many addresses meets the account's limit before the lockout's fifth try.
    assert [center_login(f"203.0.113.{i}") for i in range(3)] == [401, 401, 401]
    assert center_login("203.0.113.9") == 429


@pytest.fixture
def redis_port(tmp_path: Path) -> Any:
    port = _free_port()
    redis = shutil.which("redis-server")
    assert redis, "redis-server is needed (make deps installs it)"
    process = subprocess.Popen([redis, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly",
                                "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port, process
    process.kill()
    process.wait(5)


def test_the_limit_is_shared_through_redis_and_survives_its_outage(
    monkeypatch: pytest.MonkeyPatch, redis_port: Any
) -> None:
    port, redis = redis_port
    monkeypatch.setenv("HALL_REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("HALL_CHALLENGE_LIMIT_PER_ACCOUNT", "4 per minute")
    reset_settings()
    first, second = make_app("auth").test_client(), make_app("auth", seed=False).test_client()  # two processes
    assert [_challenge(c, A).status_code for c in (first, second, first, second)] == [200] * 4
    assert _challenge(second, A).status_code == 429
    assert _challenge(first, A).status_code == 429

    redis.kill()
    redis.wait(5)
    # Redis gone: each process counts in its own memory, and logins go on.
    answers = [_challenge(first, "100100002").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]
