"""What the payment service reads from the member service: the monthly amounts a month's remittance bill
is made of (a service token with ``member_read``), and the headcount by status that 单位基本信息 shows.

The member service owns the contribution terms (effective-dated, ``Contribution``); the payment service
asks for them when it makes a bill and keeps only the bill's own figures, never a copy of the terms.
"""

from __future__ import annotations

import re
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import func, select

from hall_common import db
from hall_common.access import allow
from hall_common.security import require_employer

from .models import NORMAL, STATUS_NAMES, Contribution, Member

blp = Blueprint("member_money", __name__, description="Members' monthly amounts for the remittance bills")
MAX_PER_PAGE = 1000
MONTH = re.compile(r"^\d{4}(0[1-9]|1[0-2])$")


class MonthlyQuery(Schema):
    month = fields.String(required=True, error_messages={"required": "请填写月份"})
    after = fields.String(load_default="", validate=validate.Length(max=20, error="个人账号不正确"))
    per_page = fields.Integer(load_default=500, validate=validate.Range(
        1, MAX_PER_PAGE, error=f"每页条数应为1到{MAX_PER_PAGE}之间的整数"))

    @validates("month")
    def _month(self, value: str, **_: Any) -> None:
        if not MONTH.match(value):
            raise ValidationError("月份格式应为YYYYMM")

    @validates("after")
    def _after(self, value: str, **_: Any) -> None:
        if value and not value.isdigit():
            raise ValidationError("个人账号不正确")


class MonthlyAmountSchema(Schema):
    member_no = fields.String()
    employer_amount = fields.Decimal(as_string=True)
    personal_amount = fields.Decimal(as_string=True)
    monthly_amount = fields.Decimal(as_string=True)


class MonthlyPageSchema(Schema):
    items = fields.List(fields.Nested(MonthlyAmountSchema))
    next = fields.String(allow_none=True)  # the ``after`` of the next page; None on the last


class StatusCountSchema(Schema):
    status = fields.String()
    status_name = fields.String()
    count = fields.Integer()


@blp.route("/employers/<employer_no>/monthly-amounts")
@allow("service:member_read")
@blp.arguments(MonthlyQuery, location="query")
@blp.response(200, MonthlyPageSchema)
def monthly_amounts(query: dict[str, Any], employer_no: str) -> dict[str, Any]:
    """The employer's NORMAL members with the monthly amount of their terms in force for ``month``
    (YYYYMM: the terms with the latest first month not after it), by member number, a page after
    ``after``. A member whose terms start later is not billed for the month."""
    items = monthly_page(employer_no, query["month"], query["after"], query["per_page"])
    more = len(items) > query["per_page"]
    items = items[:query["per_page"]]
    return {"items": items, "next": items[-1]["member_no"] if more else None}


@blp.route("/employers/<employer_no>/status-counts")
@allow("employer", "center")
@blp.response(200, StatusCountSchema(many=True))
def status_counts(employer_no: str) -> list[dict[str, Any]]:
    """单位基本信息's headcount by account status (every status, zero included, in code order)."""
    require_employer(employer_no, "employer_info")
    query = select(Member.status, func.count()).where(Member.employer_no == employer_no).group_by(Member.status)
    counts: dict[str, int] = {status: n for status, n in db.session().execute(query)}
    return [{"status": code, "status_name": name, "count": counts.get(code, 0)} for code, name in STATUS_NAMES.items()]


def monthly_page(employer_no: str, month: str, after: str, per_page: int) -> list[dict[str, Any]]:
    """One row more than asked, so the caller knows whether a next page exists."""
    ranked = (select(Contribution.member_no, Contribution.employer_amount, Contribution.personal_amount,
                     func.row_number().over(partition_by=Contribution.member_no,
                                            order_by=(Contribution.from_month.desc(), Contribution.id.desc()))
                     .label("rank"))
              .where(Contribution.employer_no == employer_no, Contribution.from_month <= month,
                     Contribution.member_no > after)
              .subquery())
    rows = db.session().execute(
        select(ranked.c.member_no, ranked.c.employer_amount, ranked.c.personal_amount)
        .join(Member, Member.member_no == ranked.c.member_no)
        .where(ranked.c.rank == 1, Member.employer_no == employer_no, Member.status == NORMAL)
        .order_by(ranked.c.member_no).limit(per_page + 1))
    return [{"member_no": m, "employer_amount": e, "personal_amount": p, "monthly_amount": e + p}
            for m, e, p in rows]
