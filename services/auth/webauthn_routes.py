"""Security keys (FIDO2/WebAuthn): the login with one (public, like the UKey's), the operator's own
keys (registration, list, removal), registration with a center enrolment code, and the center's
switch per employer, codes and revocation (UKey管理)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common import db
from hall_common.access import allow
from hall_common.security import current_principal

from . import services, webauthn_center, webauthn_keys
from .accounts import employer_accounts
from .schemas import LoginStageSchema
from .webauthn_schemas import (
    CodeSchema,
    EnrolmentOptionsRequestSchema,
    KeyEnrolmentSchema,
    KeyRegistrationSchema,
    LoginOptionsRequestSchema,
    SwitchRequestSchema,
    SwitchSchema,
    WebAuthnKeySchema,
    WebAuthnLoginSchema,
    WebAuthnMessageSchema,
    WebAuthnOptionsSchema,
)

blp = Blueprint("webauthn", __name__, description="Security keys (FIDO2/WebAuthn) beside the UKey")


@blp.route("/auth/webauthn/login-options", methods=["POST"])
@allow("public")
@blp.arguments(LoginOptionsRequestSchema)
@blp.response(200, WebAuthnOptionsSchema)
def login_options(body: dict[str, Any]) -> dict[str, Any]:
    """The same answer whether or not the account exists or has a key (rate limited like the UKey's challenge)."""
    return webauthn_keys.login_options(body["login_name"])


@blp.route("/auth/webauthn/login", methods=["POST"])
@allow("public")
@blp.arguments(WebAuthnLoginSchema)
@blp.response(200, LoginStageSchema)
def login(body: dict[str, Any]) -> dict[str, Any]:
    return services.login_employer_webauthn(**body)


@blp.route("/auth/webauthn/keys")
@allow("employer")
@blp.response(200, WebAuthnKeySchema(many=True))
def own_keys() -> Any:
    return webauthn_keys.active_keys(current_principal().login_name)


@blp.route("/auth/webauthn/keys/options", methods=["POST"])
@allow("employer")
@blp.response(200, WebAuthnOptionsSchema)
def registration_options() -> dict[str, Any]:
    principal = current_principal()
    webauthn_keys.check_signed_in_registration(principal.session_id)
    return webauthn_keys.registration_options(principal.login_name)


@blp.route("/auth/webauthn/keys", methods=["POST"])
@allow("employer")
@blp.arguments(KeyRegistrationSchema)
@blp.response(201, WebAuthnKeySchema)
def register(body: dict[str, Any]) -> Any:
    principal = current_principal()
    webauthn_keys.check_signed_in_registration(principal.session_id)
    login_name = principal.login_name
    key = webauthn_keys.register(login_name, login_name, body["challenge_id"], body["credential"],
                                 body["name"].strip(), "登录后登记")
    db.session().commit()
    return key


@blp.route("/auth/webauthn/keys/<int:key_id>", methods=["DELETE"])
@allow("employer")
@blp.response(200, WebAuthnMessageSchema)
def remove(key_id: int) -> dict[str, str]:
    webauthn_keys.remove(current_principal().login_name, key_id)
    return {"message": "安全密钥已删除"}


@blp.route("/auth/webauthn/enrolment-options", methods=["POST"])
@allow("public")
@blp.arguments(EnrolmentOptionsRequestSchema)
@blp.response(200, WebAuthnOptionsSchema)
def enrolment_options(body: dict[str, Any]) -> dict[str, Any]:
    """An operator without a UKey: password and the center's code (counted toward the lockout)."""
    return webauthn_center.enrolment_options(**body)


@blp.route("/auth/webauthn/enrolment", methods=["POST"])
@allow("public")
@blp.arguments(KeyEnrolmentSchema)
@blp.response(201, WebAuthnKeySchema)
def enrol(body: dict[str, Any]) -> Any:
    return webauthn_center.enrol_with_code(body["login_name"], body["code"], body["challenge_id"],
                                           body["credential"], body["name"].strip())


# -- the center -------------------------------------------------------------------------------------

@blp.route("/auth/webauthn/admin/keys")
@allow("center:ukey_admin")
@blp.response(200, WebAuthnKeySchema(many=True))
def all_keys() -> Any:
    return webauthn_keys.all_keys()


@blp.route("/auth/webauthn/admin/keys/<int:key_id>/revoke", methods=["POST"])
@allow("center:ukey_admin")
@blp.response(200, WebAuthnMessageSchema)
def revoke(key_id: int) -> dict[str, str]:
    webauthn_keys.revoke(current_principal().login_name, key_id)
    return {"message": "安全密钥已注销，该账号的登录已结束"}


@blp.route("/auth/webauthn/switches")
@allow("center:ukey_admin")
@blp.response(200, SwitchSchema(many=True))
def switches() -> Any:
    allowed = webauthn_center.switches()
    seen: dict[str, dict[str, Any]] = {}
    for operator in employer_accounts():
        no = operator.employer_no or ""
        seen.setdefault(no, {"employer_no": no, "employer_name": operator.employer_name or "",
                             "allowed": allowed.get(no, False)})
    return list(seen.values())


@blp.route("/auth/webauthn/switches/<employer_no>", methods=["PUT"])
@allow("center:ukey_admin")
@blp.arguments(SwitchRequestSchema)
@blp.response(200, WebAuthnMessageSchema)
def set_switch(body: dict[str, Any], employer_no: str) -> dict[str, str]:
    webauthn_center.set_allowed(current_principal().login_name, employer_no, body["allowed"])
    return {"message": f"已{'开通' if body['allowed'] else '停用'}单位 {employer_no} 的安全密钥登录"}


@blp.route("/auth/webauthn/codes/<login_name>", methods=["POST"])
@allow("center:ukey_admin")
@blp.response(201, CodeSchema)
def issue_code(login_name: str) -> dict[str, Any]:
    code, row = webauthn_center.issue_code(current_principal().login_name, login_name)
    return {"message": f"已为 {login_name} 发放安全密钥登记码", "code": code, "expires_at": row.expires_at}
