"""The employer directory: every employer's number and name, paged by key for the center and for
services holding the ``employer_list`` permission (the notify worker's broadcast pages through it
instead of keeping a copy). Keyset paging (``after`` the last number seen) costs the same on the
last page of 100,000 employers as on the first."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from hall_common import db
from hall_common.access import allow

from .models import Employer

MAX_LIMIT = 1000
blp = Blueprint("employer_directory", __name__, description="The employer directory (center and services)")


class DirectoryQuery(Schema):
    after = fields.String(load_default="", validate=validate.Length(max=20))
    limit = fields.Integer(load_default=MAX_LIMIT, validate=validate.Range(
        1, MAX_LIMIT, error=f"每页条数应为1到{MAX_LIMIT}之间的整数"))
    # Only these employers (those that exist are answered): checks a push's recipient list at once.
    employer_no = fields.List(fields.String(validate=validate.Length(max=20)), load_default=list,
                              validate=validate.Length(max=MAX_LIMIT, error=f"最多{MAX_LIMIT}个单位"))


class DirectoryEntrySchema(Schema):
    employer_no = fields.String()
    name = fields.String()


class DirectoryPageSchema(Schema):
    items = fields.List(fields.Nested(DirectoryEntrySchema))
    next_after = fields.String(allow_none=True)  # null: this was the last page


def page(after: str, limit: int, only: list[str]) -> dict[str, Any]:
    query = select(Employer.employer_no, Employer.name).where(Employer.employer_no > after)
    if only:
        query = query.where(Employer.employer_no.in_(only))
    rows = db.session().execute(query.order_by(Employer.employer_no).limit(limit + 1)).all()
    items = [{"employer_no": no, "name": name} for no, name in rows[:limit]]
    return {"items": items, "next_after": items[-1]["employer_no"] if len(rows) > limit else None}


@blp.route("/employers")
@allow("center", "service:employer_list")
@blp.arguments(DirectoryQuery, location="query")
@blp.response(200, DirectoryPageSchema)
def directory(query: dict[str, Any]) -> dict[str, Any]:
    return page(query["after"], query["limit"], query["employer_no"])
