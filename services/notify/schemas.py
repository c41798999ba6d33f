from __future__ import annotations

from marshmallow import Schema, fields

from hall_common.schemas import PageQuery


class InboxItemSchema(Schema):
    id = fields.Integer()
    box = fields.String()
    business_type = fields.String()
    business_id = fields.String()
    title = fields.String()
    content = fields.String()
    channel = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class CountsSchema(Schema):
    message = fields.Integer()
    todo = fields.Integer()
    done = fields.Integer()
    initiated = fields.Integer()
    read = fields.Integer()


class InboxPageSchema(Schema):
    items = fields.List(fields.Nested(InboxItemSchema))
    total = fields.Integer()
    counts = fields.Nested(CountsSchema)  # every box's size, for the tabs beside the page


class InboxQuery(PageQuery):
    pass


class ResultSchema(Schema):
    message = fields.String()
    item = fields.Nested(InboxItemSchema, allow_none=True)
