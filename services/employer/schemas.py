from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from .fields import PROFILE_FIELDS
from .models import REQUEST_STATUS_NAMES

# Each item appears once in a roster, so a longer roster is refused before any row is checked (a
# 10 MB body of repeated rows would otherwise cost seconds and answer one error per row).
MAX_ROWS = len(PROFILE_FIELDS)


class ProfileFieldSchema(Schema):
    name = fields.String()
    label = fields.String()
    value = fields.String()
    editable = fields.Boolean()
    max_length = fields.Integer(allow_none=True, metadata={"description": "the longest value the field takes"})


class ProfileSchema(Schema):
    employer_no = fields.String()
    name = fields.String()
    pending_request_id = fields.Integer(allow_none=True)
    profile_fields = fields.List(fields.Nested(ProfileFieldSchema), data_key="fields", attribute="fields")


class ChangeRowSchema(Schema):
    field = fields.String(required=True, validate=validate.Length(min=1, max=50))
    # No length rule here: each field's own rule (services.check_changes) refuses a too-long value and
    # names its row and field; the request body's size limit bounds what arrives.
    value = fields.String(required=True)


class ChangeSubmitSchema(Schema):
    changes = fields.List(fields.Nested(ChangeRowSchema), required=True,
                          validate=validate.Length(max=MAX_ROWS, error=f"待变更清册最多{MAX_ROWS}行"))


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


class HistoryQuerySchema(Schema):
    start_date = fields.Date(load_default=None)
    end_date = fields.Date(load_default=None)


class HistorySchema(Schema):
    id = fields.Integer()
    request_id = fields.Integer()
    field = fields.String()
    label = fields.String()
    old_value = fields.String()
    new_value = fields.String()
    operator = fields.String()
    approver = fields.String()
    changed_at = fields.DateTime()
