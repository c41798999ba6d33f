"""The request and answer schemas of the member changes that need approval: 缴存人信息变更 (ch. 9) and
基数调整's grid and preview (ch. 4)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from hall_common.change_roster import PENDING
from hall_common.change_schemas import ChangeRequestSchema, ChangeRowSchema, CodedFieldSchema, SubmittedSchema
from hall_common.schemas import PageQuery

from . import info_change
from .adjustment import CATEGORY_NAMES

MEMBER_NO = validate.Length(min=1, max=20, error="个人账号不正确")


class ProfileQuery(Schema):
    member_no = fields.String(required=True, validate=MEMBER_NO)


class MemberProfileSchema(Schema):
    member_no = fields.String()
    name = fields.String()
    status = fields.String()
    changeable = fields.Boolean()
    profile_fields = fields.List(fields.Nested(CodedFieldSchema), data_key="fields", attribute="fields")
    request = fields.Nested(ChangeRequestSchema, allow_none=True)


class MemberChangeSubmitSchema(Schema):
    member_no = fields.String(required=True, validate=MEMBER_NO)
    # Each item appears once in a roster: a longer one is refused before any row is checked.
    changes = fields.List(fields.Nested(ChangeRowSchema), required=True, validate=validate.Length(
        max=info_change.MAX_ROWS, error=f"待变更清册最多{info_change.MAX_ROWS}行"))


class MemberChangeResubmitSchema(Schema):
    changes = MemberChangeSubmitSchema().fields["changes"]


class PendingQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(PENDING, error="状态不正确"))


class MemberChangeRequestSchema(ChangeRequestSchema):
    member_no = fields.String()


class PendingItemSchema(Schema):
    request = fields.Nested(MemberChangeRequestSchema)
    member_name = fields.String()


class PendingPageSchema(Schema):
    items = fields.List(fields.Nested(PendingItemSchema))
    total = fields.Integer()


class MemberSubmittedSchema(SubmittedSchema):
    request = fields.Nested(MemberChangeRequestSchema)


class GridQuery(PageQuery):
    category = fields.String(load_default="base", validate=validate.OneOf(list(CATEGORY_NAMES), error="变更类别不正确"))
    q = fields.String(load_default="", validate=validate.Length(max=30, error="查询内容不能超过30个字"))
    member_no = fields.String(load_default="", validate=validate.Regexp(r"^[0-9A-Za-z]{0,20}$",
                                                                        error="个人账号格式不正确"))


class GridPageSchema(Schema):
    items = fields.List(fields.Dict(keys=fields.String()))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    category = fields.String()


class PreviewSchema(Schema):
    row = fields.Dict(keys=fields.String())
