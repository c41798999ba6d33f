"""The names of an employer's members by number, read by another service at the moment it shows them
(the payment service's 明细 of a journal entry): names live here only, never copied into payment.

The payment service calls this on behalf of the operator whose query it answers, with the operator's
own token, so the same employer check applies as on the operator's own routes: another employer's
member numbers are simply not answered."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from hall_common import db
from hall_common.access import allow
from hall_common.security import require_employer

from .models import Member

MAX_NAMES = 1000
blp = Blueprint("member_names", __name__, description="Member names by number (for other services' queries)")


class NamesRequest(Schema):
    member_nos = fields.List(fields.String(validate=validate.Length(max=20)), required=True,
                             validate=validate.Length(max=MAX_NAMES, error=f"最多{MAX_NAMES}个个人账号"))


class NameSchema(Schema):
    member_no = fields.String()
    name = fields.String()


def names(employer_no: str, member_nos: list[str]) -> list[dict[str, Any]]:
    if not member_nos:
        return []
    rows = db.session().execute(select(Member.member_no, Member.name).where(
        Member.employer_no == employer_no, Member.member_no.in_(sorted(set(member_nos)))))
    return [{"member_no": no, "name": name} for no, name in rows]


# POST: up to a thousand numbers do not fit a query string's line limit.
@blp.route("/employers/<employer_no>/members/names", methods=["POST"])
@allow("employer", "center")
@blp.arguments(NamesRequest)
@blp.response(200, NameSchema(many=True))
def member_names(body: dict[str, Any], employer_no: str) -> Any:
    require_employer(employer_no, "employer_query")
    return names(employer_no, body["member_nos"])
