"""Receipts (到账) as banks and downstream systems post them, and as the service answers them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from hall_common.validators import text

MAX_AMOUNT = Decimal("999999999999.99")  # what the Money column holds


class ReceiptInSchema(Schema):
    bank_reference = fields.String(required=True, validate=text(64, "银行流水号"))
    employer_no = fields.String(required=True, validate=validate.Regexp(r"^\d{1,20}$", error="单位账号不正确"))
    amount = fields.Decimal(required=True)
    received_on = fields.Date(required=True)
    memo = fields.String(load_default="", validate=validate.Length(max=200, error="摘要不能超过200个字"))

    @validates("amount")
    def _amount(self, value: Decimal, **_: Any) -> None:
        if not value.is_finite() or value <= 0:
            raise ValidationError("到账金额应大于0")
        if value != value.quantize(Decimal("0.01")):
            raise ValidationError("到账金额最多两位小数")
        if value > MAX_AMOUNT:
            raise ValidationError("到账金额过大")


class ReceiptSchema(Schema):
    id = fields.Integer()
    bank_reference = fields.String()
    employer_no = fields.String()
    amount = fields.Decimal(as_string=True)
    received_on = fields.Date()
    memo = fields.String()
    created_at = fields.DateTime()


class ReceiptResultSchema(Schema):
    message = fields.String()
    receipt = fields.Nested(ReceiptSchema)
    # The bills this receipt paid (months, YYYY-MM), oldest first; empty on a retry.
    paid_months = fields.List(fields.String())
    unallocated = fields.Decimal(as_string=True)
