"""Real SoftHSM2 tokens for the unit tests, and the login steps an agent and a page perform."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from deploy.ukey import SOFTHSM_MODULE
from ukey_agent import LOGIN_PREFIX
from ukey_agent.token import UKeyToken

PIN = "123456"
TOKENS = ("UK-A", "UK-B", "UK-C", "HALL-CA")  # HALL-CA: an HSM stand-in holding the center's CA key


def init_tokens(directory: Path) -> None:
    """Initialise the tokens before python-pkcs11 loads the module in this process."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in TOKENS:
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", "12345678",
                        "--pin", PIN], check=True, capture_output=True)


def token(label: str) -> UKeyToken:
    return UKeyToken(SOFTHSM_MODULE, label)


def second_admin() -> dict[str, str]:
    """The second administrator (demo center03), who confirms what the test's center account requested."""
    from .conftest import auth, token_for

    return auth(token_for("center", None, login_name="center03"))


def issue(center: FlaskClient, center_headers: dict[str, str], label: str, logins: list[str]) -> dict[str, Any]:
    """The center issues a UKey: key generated on the token, the issue requested by one administrator
    and confirmed by a second (dual control), the certificate written back to the token."""
    generated = token(label).generate_key(PIN)
    requested = center.post("/auth/ukeys", json={**generated, "login_names": logins}, headers=center_headers)
    assert requested.status_code == 202, requested.get_json()
    approval = requested.get_json()["approval"]
    confirmed = center.post(f"/auth/approvals/{approval['id']}/confirm", headers=second_admin())
    assert confirmed.status_code == 200, confirmed.get_json()
    ukey_id = confirmed.get_json()["approval"]["ukey_id"]
    [issued] = [k for k in center.get("/auth/ukeys", headers=center_headers).get_json() if k["id"] == ukey_id]
    token(label).store_certificate(PIN, issued["certificate_pem"])
    return dict(issued)


def reset_password(center: FlaskClient, center_headers: dict[str, str], login_name: str) -> str:
    """A password reset requested by the test's center account and confirmed by the second administrator
    (dual control): the one-time password from the confirmation's answer."""
    requested = center.post(f"/auth/operators/{login_name}/reset-password", headers=center_headers)
    assert requested.status_code == 202, requested.get_json()
    approval = requested.get_json()["approval"]
    confirmed = center.post(f"/auth/approvals/{approval['id']}/confirm", headers=second_admin())
    assert confirmed.status_code == 200, confirmed.get_json()
    return str(confirmed.get_json()["one_time_password"])


def challenge(client: FlaskClient, login_name: str) -> dict[str, Any]:
    body: dict[str, Any] = client.post(
        "/auth/challenge", json={"employer_no": login_name, "login_name": login_name}
    ).get_json()
    return body


def signed_login(client: FlaskClient, login_name: str, password: str, label: str,
                 challenge_body: dict[str, Any] | None = None, certificate: str | None = None) -> Any:
    """What the login page does with the agent's answer."""
    found = challenge_body or challenge(client, login_name)
    signature = token(label).sign(PIN, LOGIN_PREFIX + base64.b64decode(found["nonce"]))
    return client.post("/auth/login", json={
        "employer_no": login_name, "login_name": login_name, "password": password,
        "challenge_id": found["challenge_id"], "certificate": certificate or token(label).certificate_pem(),
        "signature": base64.b64encode(signature).decode("ascii"),
    })
