"""Routes of interest: the center's settlement runs (结息管理) and the employer's 利息单 / 对账单 prints
(7.4's list, export and print come from hall_common.queries, see interest_queries.QUERY)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from hall_common.access import allow
from hall_common.prints import render_pdf
from hall_common.queries import PRINT_MAX_ROWS, attachment, query_blueprint
from hall_common.schemas import PageQuery
from hall_common.security import current_principal, require_employer

from . import interest, interest_jobs, interest_queries

blp = Blueprint("interest", __name__, description="Interest settlement (结息) and its prints")
queries_blp = query_blueprint("payment_interest", [interest_queries.QUERY])


class RunInSchema(Schema):
    year = fields.Integer(required=True, validate=interest_queries.YEAR_RANGE,
                          error_messages={"required": "请选择结息年度", "invalid": "年度应为2000到2100之间的年份"})


class RunSchema(Schema):
    year = fields.Integer()
    label = fields.String()
    start = fields.Date()
    end = fields.Date()
    status = fields.String()  # none | running | done | failed
    status_name = fields.String()
    current_rate = fields.String()
    carried_rate = fields.String()
    day_basis = fields.Integer()
    employers_total = fields.Integer()
    employers_done = fields.Integer()
    members_done = fields.Integer()
    interest_total = fields.Decimal(as_string=True)
    error = fields.String()
    started_by = fields.String()
    started_at = fields.DateTime()
    updated_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class RunPageSchema(Schema):
    items = fields.List(fields.Nested(RunSchema))
    total = fields.Integer()


class YearsSchema(Schema):
    years = fields.List(fields.Integer())


@blp.route("/interest/runs")
@allow("center:interest")
@blp.arguments(PageQuery, location="query")
@blp.response(200, RunPageSchema)
def list_runs(args: dict[str, Any]) -> dict[str, Any]:
    items, total = interest_jobs.runs_page(args["page"], args["per_page"])
    return {"items": items, "total": total}


@blp.route("/interest/runs/<int:year>")
@allow("center:interest")
@blp.response(200, RunSchema)
def get_run(year: int) -> dict[str, Any]:
    return interest_jobs.run_of(year)


@blp.route("/interest/runs", methods=["POST"])
@allow("center:interest")
@blp.arguments(RunInSchema)
@blp.response(202, RunSchema)
def start_run(data: dict[str, Any]) -> dict[str, Any]:
    return interest_jobs.request_run(data["year"], current_principal().login_name)


def _pdf(title: str, columns: Any, rows: list[dict[str, Any]], document: Any, employer_no: str,
         year: int) -> Response:
    caption = [f"单位编号：{employer_no}", f"结息年度：{interest.Year(year).label}"]
    pdf = render_pdf(title, columns, rows, caption=caption, max_rows=PRINT_MAX_ROWS, document=document)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": attachment("inline", f"{title}{year}.pdf")})


@blp.route("/employers/<employer_no>/interest/years")
@allow("employer", "center")
@blp.response(200, YearsSchema)
def years(employer_no: str) -> dict[str, Any]:
    require_employer(employer_no, interest_queries.PERMISSION)
    return {"years": interest_queries.settled_years(employer_no)}


@blp.route("/employers/<employer_no>/interest/<int:year>/slip")
@allow("employer", "center")
@blp.response(200, content_type="application/pdf", description="PDF, inline")
def slip(employer_no: str, year: int) -> Response:
    require_employer(employer_no, interest_queries.PERMISSION)
    rows, document = interest_queries.slip(employer_no, year)
    return _pdf("单位利息单", interest_queries.SLIP_COLUMNS, rows, document, employer_no, year)


@blp.route("/employers/<employer_no>/interest/<int:year>/statement")
@allow("employer", "center")
@blp.response(200, content_type="application/pdf", description="PDF, inline")
def statement(employer_no: str, year: int) -> Response:
    require_employer(employer_no, interest_queries.PERMISSION)
    rows, document = interest_queries.statement(employer_no, year)
    return _pdf("单位对账单", interest_queries.STATEMENT_COLUMNS, rows, document, employer_no, year)
