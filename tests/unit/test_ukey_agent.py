"""The UKey agent's local HTTP interface on a real SoftHSM2 token: only the hall's origin, only
loopback, and signatures the auth service accepts."""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskClient

from ukey_agent import LOGIN_PREFIX
from ukey_agent.server import create_app

from .conftest import make_app
from .ukey_support import PIN, issue, token

HALL = "https://dwwt.example.gov.cn"


@pytest.fixture
def agent(center_headers: dict[str, str]) -> FlaskClient:
    issue(make_app("auth").test_client(), center_headers, "UK-C", ["100100001"])
    return create_app(token("UK-C"), [HALL]).test_client()


def test_signs_a_challenge_for_the_halls_origin(agent: FlaskClient) -> None:
    nonce = b"\x01" * 32
    response = agent.post("/sign", json={"nonce": base64.b64encode(nonce).decode(), "pin": PIN},
                          headers={"Origin": HALL})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == HALL
    body = response.get_json()
    certificate = x509.load_pem_x509_certificate(body["certificate"].encode())
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(base64.b64decode(body["signature"]), LOGIN_PREFIX + nonce, ec.ECDSA(hashes.SHA256()))


def test_refuses_other_origins_and_non_loopback_hosts(agent: FlaskClient) -> None:
    for headers in ({"Origin": "https://evil.example"}, {}):
        refused = agent.post("/sign", json={"nonce": "AQ==", "pin": PIN}, headers=headers)
        assert refused.status_code == 403
        assert refused.get_json()["message"] == "拒绝来自未授权网站的请求"
        assert "Access-Control-Allow-Origin" not in refused.headers
    rebound = agent.get("/status", headers={"Origin": HALL, "Host": "attacker.example:18761"})
    assert rebound.status_code == 403
    assert rebound.get_json()["message"] == "联连客户端只接受本机访问"


def test_answers_the_private_network_preflight(agent: FlaskClient) -> None:
    preflight = agent.options("/sign", headers={
        "Origin": HALL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Private-Network": "true"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Private-Network"] == "true"
    assert preflight.headers["Access-Control-Allow-Origin"] == HALL


def test_wrong_pin_and_missing_token_are_explained(agent: FlaskClient) -> None:
    wrong = agent.post("/sign", json={"nonce": "AQ==", "pin": "000000"}, headers={"Origin": HALL})
    assert wrong.status_code == 409
    assert wrong.get_json()["message"] == "UKey密码错误"
    absent = create_app(token("NO-SUCH-TOKEN"), [HALL]).test_client()
    response = absent.get("/status", headers={"Origin": HALL})
    assert response.get_json()["message"] == "未检测到UKey，请插入UKey"


def test_issuing_is_off_unless_enabled(agent: FlaskClient) -> None:
    before = agent.get("/status", headers={"Origin": HALL}).get_json()
    for path in ("/keys", "/certificate"):
        refused = agent.post(path, json={"pin": PIN}, headers={"Origin": HALL})
        assert refused.status_code == 403
        assert refused.get_json()["message"] == "此联连客户端未开启UKey签发功能"
    assert agent.get("/status", headers={"Origin": HALL}).get_json() == before
    issuing = create_app(token("UK-C"), [HALL], allow_issue=True).test_client()
    generated = issuing.post("/keys", json={"pin": PIN}, headers={"Origin": HALL}).get_json()
    assert generated["public_key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_status_tells_the_token_and_its_certificate(agent: FlaskClient) -> None:
    status = agent.get("/status", headers={"Origin": HALL}).get_json()
    assert status["token_label"] == "UK-C"
    assert status["has_certificate"] is True
