"""The bodies and answers of the security key routes (webauthn_routes.py)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

_required = validate.Length(min=1, max=50, error="不能为空且不超过50个字符")
_password = validate.Length(min=1, max=128, error="请输入密码")
_challenge = validate.Length(min=1, max=36, error="请重新操作安全密钥")
_name = validate.Length(min=1, max=50, error="请填写安全密钥名称（不超过50个字符）")
_code = validate.Length(min=1, max=40, error="请输入中心发放的登记码")


class WebAuthnOptionsSchema(Schema):
    challenge_id = fields.String()
    options = fields.Dict(metadata={"description": "for navigator.credentials.create() or .get(), "
                                                   "binary values in base64url (py_webauthn's options_to_json)"})


class LoginOptionsRequestSchema(Schema):
    employer_no = fields.String(required=True, validate=_required)
    login_name = fields.String(required=True, validate=_required)


class WebAuthnLoginSchema(Schema):
    employer_no = fields.String(required=True, validate=_required)
    login_name = fields.String(required=True, validate=_required)
    password = fields.String(required=True, validate=_password)
    challenge_id = fields.String(required=True, validate=_challenge)
    credential = fields.Dict(required=True, metadata={"description": "the PublicKeyCredential as JSON"})


class KeyRegistrationSchema(Schema):
    challenge_id = fields.String(required=True, validate=_challenge)
    credential = fields.Dict(required=True, metadata={"description": "the PublicKeyCredential as JSON"})
    name = fields.String(required=True, validate=_name)


class EnrolmentOptionsRequestSchema(Schema):
    employer_no = fields.String(required=True, validate=_required)
    login_name = fields.String(required=True, validate=_required)
    password = fields.String(required=True, validate=_password)
    code = fields.String(required=True, validate=_code)


class KeyEnrolmentSchema(KeyRegistrationSchema):
    login_name = fields.String(required=True, validate=_required)
    code = fields.String(required=True, validate=_code)


class WebAuthnKeySchema(Schema):
    id = fields.Integer()
    login_name = fields.String()
    name = fields.String()
    aaguid = fields.String()
    sign_count = fields.Integer()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)


class SwitchSchema(Schema):
    employer_no = fields.String()
    employer_name = fields.String()
    allowed = fields.Boolean(required=True)


class SwitchRequestSchema(Schema):
    allowed = fields.Boolean(required=True)


class CodeSchema(Schema):
    message = fields.String()
    code = fields.String(metadata={"description": "shown once; only its hash is kept"})
    expires_at = fields.DateTime()


class WebAuthnMessageSchema(Schema):
    message = fields.String()
