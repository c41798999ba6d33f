from __future__ import annotations

from marshmallow import Schema, fields, validate

from hall_common.schemas import PageQuery

from .models import STATUS_NAMES


class MemberQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(list(STATUS_NAMES), error="账户状态不正确"))


class MemberSchema(Schema):
    member_no = fields.String()
    name = fields.String()
    id_type = fields.String()
    id_number = fields.String()
    base = fields.Decimal(as_string=True)
    employer_ratio = fields.Decimal(as_string=True)
    personal_ratio = fields.Decimal(as_string=True)
    status = fields.String()
    open_date = fields.Date()


class MemberViewSchema(Schema):
    member = fields.Nested(MemberSchema)
    status_name = fields.String()
    employer_amount = fields.Decimal(as_string=True)
    personal_amount = fields.Decimal(as_string=True)
    monthly_amount = fields.Decimal(as_string=True)


class MemberPageSchema(Schema):
    items = fields.List(fields.Nested(MemberViewSchema))
    total = fields.Integer()
    status_counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class SearchQuery(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=30, error="查询内容不能超过30个字"))
    status = fields.String(load_default=None, validate=validate.OneOf(list(STATUS_NAMES), error="账户状态不正确"))


class SearchResultSchema(Schema):
    member_no = fields.String()
    name = fields.String()
    id_number = fields.String()
    status = fields.String()
    status_name = fields.String()


class LookupSchema(Schema):
    member_nos = fields.List(fields.String(validate=validate.Length(min=1, max=20)), required=True,
                             validate=validate.Length(min=1, max=2000, error="一次最多查询2000个个人账号"))


class LookupMemberSchema(SearchResultSchema):
    first_month = fields.String()


class LookupResultSchema(Schema):
    items = fields.List(fields.Nested(LookupMemberSchema))
