"""Security keys (FIDO2/WebAuthn) in the employer's hall: the 安全密钥 page of a signed-in operator
(list, add with a name, remove), registration with a center enrolment code for an operator without a
UKey, and the login page's request for a key ceremony. The browser runs the ceremonies
(static/webauthn.js); the auth service checks them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for

from hall_common.client import ServiceError

from . import session as sessions
from .login import login_required
from .session import EMPLOYER_KEY

bp = Blueprint("keys", __name__)


def _answer(call: Any, status: int = 200) -> Any:
    """A script's request passed on to the auth service: its answer, or its refusal with the message."""
    try:
        return jsonify(call()), status
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        return jsonify({"message": exc.message, "errors": exc.errors}), exc.status


def _ceremony(*names: str) -> dict[str, Any]:
    data = sessions.json_object()
    body = {n: str(data.get(n, "")).strip() for n in names}
    credential = data.get("credential")
    return {**body, "challenge_id": str(data.get("challenge_id", "")),
            "credential": credential if isinstance(credential, dict) else {}}


@bp.route("/security-keys")
@login_required
def own_keys() -> Any:
    keys = sessions.client("auth", EMPLOYER_KEY).get("/auth/webauthn/keys")
    return render_template("security_keys.html", keys=keys)


@bp.route("/security-keys/options", methods=["POST"])
@login_required
def registration_options() -> Any:
    return _answer(lambda: sessions.client("auth", EMPLOYER_KEY).post("/auth/webauthn/keys/options"))


@bp.route("/security-keys", methods=["POST"])
@login_required
def register() -> Any:
    body = _ceremony("name")

    def call() -> Any:
        key = sessions.client("auth", EMPLOYER_KEY).post("/auth/webauthn/keys", body)
        flash(f"安全密钥“{key['name']}”已登记，下次登录可使用安全密钥", "success")
        return key

    return _answer(call, 201)


@bp.route("/security-keys/<int:key_id>/delete", methods=["POST"])
@login_required
def remove(key_id: int) -> Any:
    try:
        result = sessions.client("auth", EMPLOYER_KEY).delete(f"/auth/webauthn/keys/{key_id}")
    except ServiceError as exc:
        if exc.status >= 500 or exc.status == 401:
            raise
        flash(exc.message, "error")
    else:
        flash(result["message"], "success")
    return redirect(url_for("keys.own_keys"))


# -- without a session: the login's options, and registration with the center's enrolment code ---------

@bp.route("/login/webauthn/options", methods=["POST"])
def login_options() -> Any:
    data = sessions.json_object()
    body = {n: str(data.get(n, "")).strip() for n in ("employer_no", "login_name")}
    return _answer(lambda: sessions.auth_for_browser().post("/auth/webauthn/login-options", body))


@bp.route("/security-keys/enrol")
def enrol_page() -> Any:
    return render_template("security_key_enrol.html")


@bp.route("/security-keys/enrol/options", methods=["POST"])
def enrol_options() -> Any:
    data = sessions.json_object()
    body = {n: str(data.get(n, "")).strip() for n in ("employer_no", "login_name", "code")}
    body["password"] = str(data.get("password", ""))
    return _answer(lambda: sessions.auth_for_browser().post("/auth/webauthn/enrolment-options", body))


@bp.route("/security-keys/enrol", methods=["POST"])
def enrol() -> Any:
    body = _ceremony("login_name", "code", "name")

    def call() -> Any:
        key = sessions.auth_for_browser().post("/auth/webauthn/enrolment", body)
        flash(f"安全密钥“{key['name']}”已登记，请使用安全密钥登录", "success")
        return key

    return _answer(call, 201)
