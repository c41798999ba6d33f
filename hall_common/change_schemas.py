"""The change roster's request and answer shapes (hall_common.change_roster), shared by its
configurations: the employer change and the member info change."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from .change_roster import REQUEST_STATUS_NAMES


class ProfileFieldSchema(Schema):
    name = fields.String()
    label = fields.String()
    value = fields.String()
    editable = fields.Boolean()
    max_length = fields.Integer(allow_none=True, metadata={"description": "the longest value the field takes"})


class CodeChoiceSchema(Schema):
    code = fields.String()
    name = fields.String()


class CodedFieldSchema(ProfileFieldSchema):
    """An item with coded values (GB/T 4658, GB/T 2261.2) offers them; ``shown`` is the value named."""

    shown = fields.String()
    choices = fields.List(fields.Nested(CodeChoiceSchema), allow_none=True)


class ChangeRowSchema(Schema):
    field = fields.String(required=True, validate=validate.Length(min=1, max=50))
    # No length rule here: each field's own rule (ChangeRoster.check) refuses a too-long value and
    # names its row and field; the request body's size limit bounds what arrives.
    value = fields.String(required=True)


class ChangeEntrySchema(Schema):
    field = fields.String()
    label = fields.String()
    old = fields.String()
    new = fields.String()


class ChangeRequestSchema(Schema):
    id = fields.Integer()
    employer_no = fields.String()
    status = fields.String()
    changes = fields.List(fields.Nested(ChangeEntrySchema))
    operator = fields.String()
    submitted_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    approver = fields.String(allow_none=True)
    opinion = fields.String(allow_none=True)
    status_name = fields.Method("_status_name")
    instance_id = fields.Integer(allow_none=True)
    returned_at = fields.DateTime(allow_none=True)
    ended_by = fields.String(allow_none=True)
    end_reason = fields.String(allow_none=True)

    def _status_name(self, request: Any) -> str:
        return REQUEST_STATUS_NAMES.get(request.status, request.status)


class CurrentRequestSchema(Schema):
    """The pending request (in approval or returned) the change page shows, or null."""

    request = fields.Nested(ChangeRequestSchema, allow_none=True)


class SubmittedSchema(Schema):
    message = fields.String()
    request = fields.Nested(ChangeRequestSchema)
