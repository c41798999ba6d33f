"""The auth service's minimal login: password check, signed tokens every service can verify."""

from __future__ import annotations

import jwt
import pytest
from flask import Flask

from hall_common.security import KeyProvider, verify_token
from services.auth.keys import public_key_pem

from .conftest import make_app


@pytest.fixture
def app() -> Flask:
    return make_app("auth")


def test_employer_login_gives_a_token_scoped_to_the_employer(app: Flask) -> None:
    response = app.test_client().post("/auth/login", json={
        "employer_no": "100100001", "login_name": "100100001", "password": "111111"})
    assert response.status_code == 200
    principal = verify_token(response.get_json()["token"], KeyProvider(public_key_pem()))
    assert principal.employer_no == "100100001"
    assert principal.role == "employer"
    assert "employer_change" in principal.permissions


@pytest.mark.parametrize("body", [
    {"employer_no": "100100001", "login_name": "100100001", "password": "wrong"},
    {"employer_no": "999999999", "login_name": "100100001", "password": "111111"},
    {"employer_no": "100100001", "login_name": "nobody", "password": "111111"},
    {"employer_no": "center01", "login_name": "center01", "password": "center123"},
])
def test_bad_logins_get_one_message(app: Flask, body: dict[str, str]) -> None:
    response = app.test_client().post("/auth/login", json=body)
    assert response.status_code == 401
    assert response.get_json()["message"] == "单位账号、登录名称或密码错误"


def test_missing_fields_are_named(app: Flask) -> None:
    response = app.test_client().post("/auth/login", json={"employer_no": "", "login_name": "100100001"})
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert errors["password"] == ["不能为空"]
    assert errors["employer_no"] == ["不能为空且不超过50个字符"]


def test_center_login_and_the_public_key(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/auth/center-login", json={"login_name": "100100001", "password": "111111"}).status_code == 401
    login = client.post("/auth/center-login", json={"login_name": "center01", "password": "center123"})
    token = login.get_json()["token"]
    pem = client.get("/auth/public-key").get_json()["public_key"]
    assert verify_token(token, KeyProvider(pem)).role == "center"


def test_passwords_are_stored_with_argon2(app: Flask) -> None:
    from sqlalchemy import select

    from hall_common import db
    from services.auth.models import Operator

    with app.app_context():
        stored = db.session().scalar(select(Operator.password_hash).where(Operator.login_name == "100100001"))
    assert stored is not None and stored.startswith("$argon2id$")
    assert "111111" not in stored


def test_a_token_signed_by_another_key_is_refused(app: Flask) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    forged = jwt.encode({"sub": "100100001", "role": "employer", "emp": "100100001", "aud": "employer-hall"},
                        other, algorithm="ES256")
    response = make_app("employer").test_client().get(
        "/employers/100100001", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
