from __future__ import annotations

from marshmallow import Schema, fields, validate

from hall_common.change_schemas import (
    ChangeEntrySchema,
    ChangeRequestSchema,
    ChangeRowSchema,
    CurrentRequestSchema,
    ProfileFieldSchema,
    SubmittedSchema,
)

from .fields import PROFILE_FIELDS

__all__ = ["ChangeEntrySchema", "ChangeRequestSchema", "ChangeRowSchema", "CurrentRequestSchema",
           "SubmittedSchema"]

# Each item appears once in a roster, so a longer roster is refused before any row is checked (a
# 10 MB body of repeated rows would otherwise cost seconds and answer one error per row).
MAX_ROWS = len(PROFILE_FIELDS)


class ProfileSchema(Schema):
    employer_no = fields.String()
    name = fields.String()
    pending_request_id = fields.Integer(allow_none=True)
    profile_fields = fields.List(fields.Nested(ProfileFieldSchema), data_key="fields", attribute="fields")


class ChangeSubmitSchema(Schema):
    changes = fields.List(fields.Nested(ChangeRowSchema), required=True,
                          validate=validate.Length(max=MAX_ROWS, error=f"待变更清册最多{MAX_ROWS}行"))


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


class BlockerSchema(Schema):
    kind = fields.String()  # balance | unallocated | members | businesses
    text = fields.String()


class ClosureCheckSchema(Schema):
    """零余额销户: whether the employer may close now, and if not, exactly what blocks it."""

    employer_no = fields.String()
    employer_name = fields.String()
    status = fields.String()
    closed = fields.Boolean()
    allowed = fields.Boolean()
    blockers = fields.List(fields.Nested(BlockerSchema))
    request = fields.Nested(ChangeRequestSchema, allow_none=True)
