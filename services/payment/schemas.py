from __future__ import annotations

from marshmallow import Schema, fields


class AccountSummarySchema(Schema):
    employer_no = fields.String()
    balance = fields.Decimal(as_string=True)
    unallocated = fields.Decimal(as_string=True)
    member_accounts = fields.Integer()
    last_remittance_month = fields.String(allow_none=True)  # YYYY-MM of the latest paid bill; None before any
