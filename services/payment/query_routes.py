"""The routes of the payment service's ch. 7 queries: each QueryDef's list, export and print
(hall_common.queries), and the whole period's account figures that the 7.2 page shows above its months."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from hall_common.access import allow
from hall_common.queries import filter_schemas, query_blueprint
from hall_common.security import require_employer

from . import queries

queries_blp = query_blueprint("payment", queries.QUERIES)
blp = Blueprint("payment_account_view", __name__, description="单位账户信息 of a period")


class AccountPeriodSchema(Schema):
    start_date = fields.Date()
    end_date = fields.Date()
    opening = fields.Decimal(as_string=True, metadata={"description": "期初余额"})
    increase = fields.Decimal(as_string=True, metadata={"description": "本期增加"})
    decrease = fields.Decimal(as_string=True, metadata={"description": "本期减少"})
    closing = fields.Decimal(as_string=True, metadata={"description": "期末余额"})
    unallocated = fields.Decimal(as_string=True, metadata={"description": "期末未分配金额"})


# The 7.2 query's own filters, with its date order check.
PeriodFilters, _ = filter_schemas(queries.ACCOUNT)


@blp.route("/employers/<employer_no>/queries/account/period")
@allow("employer", "center")
@blp.arguments(PeriodFilters, location="query")
@blp.response(200, AccountPeriodSchema)
@blp.doc(summary="单位账户信息查询：期间合计")
def account_period(args: dict[str, Any], employer_no: str) -> dict[str, Any]:
    require_employer(employer_no, queries.PERMISSION)
    return queries.account_summary(employer_no, args)
