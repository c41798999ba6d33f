from __future__ import annotations

from marshmallow import Schema, fields, validate

_required = validate.Length(min=1, max=50, error="不能为空且不超过50个字符")


class EmployerLoginSchema(Schema):
    employer_no = fields.String(required=True, validate=_required)
    login_name = fields.String(required=True, validate=_required)
    password = fields.String(required=True, validate=validate.Length(min=1, max=128, error="请输入登录密码"))


class CenterLoginSchema(Schema):
    login_name = fields.String(required=True, validate=_required)
    password = fields.String(required=True, validate=validate.Length(min=1, max=128, error="请输入登录密码"))


class SessionSchema(Schema):
    token = fields.String()
    principal = fields.Dict()


class PublicKeySchema(Schema):
    algorithm = fields.String()
    public_key = fields.String()
