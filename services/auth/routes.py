from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from . import services
from .keys import public_key_pem
from .schemas import CenterLoginSchema, EmployerLoginSchema, PublicKeySchema, SessionSchema

blp = Blueprint("auth", __name__, description="Login and session tokens")


@blp.route("/auth/login", methods=["POST"])
@blp.arguments(EmployerLoginSchema)
@blp.response(200, SessionSchema)
def login(body: dict[str, Any]) -> dict[str, Any]:
    return services.login_employer(body["employer_no"], body["login_name"], body["password"])


@blp.route("/auth/center-login", methods=["POST"])
@blp.arguments(CenterLoginSchema)
@blp.response(200, SessionSchema)
def center_login(body: dict[str, Any]) -> dict[str, Any]:
    return services.login_center(body["login_name"], body["password"])


@blp.route("/auth/public-key")
@blp.response(200, PublicKeySchema)
def public_key() -> dict[str, str]:
    return {"algorithm": "ES256", "public_key": public_key_pem()}
