from __future__ import annotations

from marshmallow import Schema, fields, validate

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


class BoxItemSchema(InboxItemSchema):
    """An item of any box. 待办 / 已办 / 我发起的 list approval processes: their ``id`` is the process
    instance id (not an inbox item id) and the process fields below are present."""

    instance_id = fields.Integer()
    status = fields.String()  # running | returned | completed | ended | terminated
    status_name = fields.String()
    outcome = fields.String(allow_none=True)  # approved | rejected | ended | terminated
    task_name = fields.String(allow_none=True)
    handler = fields.String(allow_none=True)
    opinion = fields.String(allow_none=True)
    initiator = fields.String()
    summary = fields.String()
    started_at = fields.DateTime(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)
    acted_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    can_end = fields.Boolean()


class CountsSchema(Schema):
    message = fields.Integer()
    todo = fields.Integer()
    done = fields.Integer()
    initiated = fields.Integer()
    read = fields.Integer()


class InboxPageSchema(Schema):
    items = fields.List(fields.Nested(BoxItemSchema))
    total = fields.Integer()
    counts = fields.Nested(CountsSchema)  # every box's size, for the tabs beside the page


class InitiatorQuery(Schema):
    # 我发起的 of one operator: the initiator as the owning service named it in its submission.
    initiator = fields.String(load_default=None, validate=validate.Length(max=50))


class InboxQuery(PageQuery, InitiatorQuery):
    pass


class ResultSchema(Schema):
    message = fields.String()
    item = fields.Nested(InboxItemSchema, allow_none=True)
