from __future__ import annotations

from marshmallow import Schema, fields, validate

from .token_registry import MAX_DAYS, NAME, PERMISSIONS


class ServiceTokenSchema(Schema):
    id = fields.String()  # the token's jti
    name = fields.String()
    permissions = fields.List(fields.String())
    issued_at = fields.DateTime()
    expires_at = fields.DateTime()
    issued_by = fields.String()  # a center login name, or cli / deploy
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_by = fields.String(allow_none=True)
    status = fields.String()  # active | withdrawn | expired


class ServiceTokenListSchema(Schema):
    items = fields.List(fields.Nested(ServiceTokenSchema))


class ServiceTokenIssueSchema(Schema):
    name = fields.String(required=True, validate=validate.Regexp(
        NAME, error="应为1到50位字母、数字或._-，以字母或数字开头"))
    permissions = fields.List(fields.String(validate=validate.OneOf(PERMISSIONS, error="未知的服务权限")),
                              required=True, validate=validate.Length(min=1, error="请至少选择一项权限"))
    days = fields.Integer(load_default=365, validate=validate.Range(1, MAX_DAYS, error=f"有效期应为1到{MAX_DAYS}天"))


class IssuedTokenSchema(Schema):
    message = fields.String()
    token = fields.String()  # shown once: it is kept nowhere
    item = fields.Nested(ServiceTokenSchema)


class WithdrawnTokenSchema(Schema):
    message = fields.String()
    item = fields.Nested(ServiceTokenSchema)
