"""查询、导出、打印: one declaration per query gives its three routes.

``query_blueprint(owner, queries)`` adds, for each ``QueryDef``:

- ``GET /employers/<employer_no>/queries/<name>``: one page of rows as JSON (Decimal as "1234.50",
  dates "YYYY-MM-DD"), with the title and the columns;
- ``GET .../<name>/export``: every row as xlsx, streamed (``sheets.xlsx_stream``);
- ``GET .../<name>/print``: every row as a PDF (``prints.render_pdf``), bounded.

Each query has its own endpoints, so the OpenAPI document shows its filter schema. A pair of date
filters (``start_date``/``end_date``, ``X_from``/``X_to``, ``start_X``/``end_X``) must be in order:
a start after its end answers 422 "开始日期不能晚于结束日期".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

from flask import Response, stream_with_context
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validates_schema
from sqlalchemy import Select, func, select

from . import db
from .access import allow
from .prints import Document, render_pdf
from .schemas import PageQuery
from .security import require_employer
from .sheets import XLSX_MIMETYPE, SheetColumn, xlsx_stream

DATES_OUT_OF_ORDER = "开始日期不能晚于结束日期"
PRINT_MAX_ROWS = 5000
STREAM_BATCH = 1000
_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class QueryDef:
    name: str  # URL segment: "member-accounts"
    title: str  # "缴存人账户信息"
    permission: str  # the employer permission: "member_query"
    filters: type[Schema]  # query-string filters (without page/per_page)
    columns: tuple[SheetColumn, ...]
    # (employer_no, filters, page, per_page) -> (rows, total)
    fetch: Callable[[str, dict[str, Any], int, int], tuple[list[dict[str, Any]], int]]
    # (employer_no, filters) -> every row, streamed
    iterate: Callable[[str, dict[str, Any]], Iterable[dict[str, Any]]]
    caption: Callable[[dict[str, Any]], list[str]] | None = None  # the print's filter lines
    # (employer_no, filters) -> what a verifiable print states (prints.Document); None: a plain print
    document: Callable[[str, dict[str, Any]], Document] | None = None


# -- what the services' fetch/iterate functions share ---------------------------------------------------

def day_range(query: Any, column: Any, start: date | None, end: date | None) -> Any:
    """A datetime column within whole days (the filters are dates; the last day counts to its end)."""
    if start:
        query = query.where(column >= datetime.combine(start, time.min))
    if end and end < date.max:  # the day after 9999-12-31 does not exist: that end bounds nothing
        query = query.where(column < datetime.combine(end + timedelta(days=1), time.min))
    return query


def page_of(query: Select[Any], page: int, per_page: int) -> tuple[list[Any], int]:
    """One page of a query's rows and the count of all of them."""
    session = db.session()
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return list(session.execute(query.offset((page - 1) * per_page).limit(per_page))), total


def stream_of(query: Select[Any]) -> Iterator[Any]:
    """Every row of a query, fetched in batches (an export of 100,000 rows never holds them all)."""
    yield from db.session().execute(query.execution_options(yield_per=STREAM_BATCH))


def caption_of(labels: dict[str, str]) -> Callable[[dict[str, Any]], list[str]]:
    """A print's 查询条件 line from the filters given, by their labels."""
    def caption(filters: dict[str, Any]) -> list[str]:
        parts = [f"{label}：{filters[key]}" for key, label in labels.items() if filters.get(key)]
        return ["查询条件：" + ("，".join(parts) if parts else "全部")]

    return caption


def date_pairs(schema: type[Schema]) -> list[tuple[str, str]]:
    """The (start, end) pairs among a schema's date fields, by their names."""
    names = {n for n, f in schema._declared_fields.items() if isinstance(f, fields.Date | fields.DateTime)}
    pairs = []
    for name in sorted(names):
        for start, end in (("start_", "end_"), ("_from", "_to"), ("_start", "_end")):
            if start.startswith("_") and name.endswith(start):
                other = name[: -len(start)] + end
            elif not start.startswith("_") and name.startswith(start):
                other = end + name[len(start):]
            else:
                continue
            if other in names:
                pairs.append((name, other))
    return pairs


class _OrderedDates(Schema):
    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        for start, end in date_pairs(type(self)):
            if data.get(start) and data.get(end) and data[start] > data[end]:
                raise ValidationError(DATES_OUT_OF_ORDER, field_name=end)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def filter_schemas(query: QueryDef) -> tuple[type[Schema], type[Schema]]:
    """(the export's and print's filters, the list's filters with page and per_page), each checking
    its date pairs; named after the query so the OpenAPI document keeps them apart."""
    base = _camel(query.name)
    filters = type(f"{base}Filters", (query.filters, _OrderedDates), {})
    paged = type(f"{base}PageFilters", (query.filters, PageQuery, _OrderedDates), {})
    return filters, paged


def json_value(value: Any, column: SheetColumn | None = None) -> Any:
    if isinstance(value, Decimal):
        if column is not None and column.kind == "money":
            value = value.quantize(_CENTS, rounding=ROUND_HALF_UP)
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def json_row(row: dict[str, Any], columns: Sequence[SheetColumn]) -> dict[str, Any]:
    by_key = {c.key: c for c in columns}
    return {k: json_value(v, by_key.get(k)) for k, v in row.items()}


def attachment(disposition: str, file_name: str) -> str:
    """A Content-Disposition any browser reads with its Chinese name (RFC 5987)."""
    return f"{disposition}; filename*=UTF-8''{quote(file_name)}"


class QueryColumnSchema(Schema):
    key = fields.String()
    label = fields.String()


class QueryPageSchema(Schema):
    title = fields.String()
    columns = fields.List(fields.Nested(QueryColumnSchema))
    items = fields.List(fields.Dict(keys=fields.String()))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


def query_blueprint(owner: str, queries: Sequence[QueryDef]) -> Blueprint:
    blp = Blueprint(f"{owner}_queries", __name__, description=f"Queries of the {owner} service: list, export, print")
    for query in queries:
        _add_routes(blp, query)
    return blp


def _add_routes(blp: Blueprint, query: QueryDef) -> None:
    filters_schema, page_schema = filter_schemas(query)
    rule = f"/employers/<employer_no>/queries/{query.name}"
    endpoint = query.name.replace("-", "_")
    columns = [{"key": c.key, "label": c.label} for c in query.columns]

    @blp.route(rule, endpoint=f"{endpoint}_list")
    @allow("employer", "center")
    @blp.arguments(page_schema, location="query")
    @blp.response(200, QueryPageSchema)
    @blp.doc(summary=f"{query.title}：查询")
    def list_rows(args: dict[str, Any], employer_no: str) -> dict[str, Any]:
        require_employer(employer_no, query.permission)
        page, per_page = args.pop("page"), args.pop("per_page")
        rows, total = query.fetch(employer_no, args, page, per_page)
        return {"title": query.title, "columns": columns, "items": [json_row(r, query.columns) for r in rows],
                "total": total, "page": page, "per_page": per_page}


    @blp.route(f"{rule}/export", endpoint=f"{endpoint}_export")
    @allow("employer", "center")
    @blp.arguments(filters_schema, location="query")
    @blp.response(200, content_type=XLSX_MIMETYPE, description="xlsx attachment, streamed")
    @blp.doc(summary=f"{query.title}：导出", responses=_file_response(XLSX_MIMETYPE, "xlsx attachment, streamed"))
    def export_rows(args: dict[str, Any], employer_no: str) -> Response:
        require_employer(employer_no, query.permission)
        chunks = xlsx_stream(query.title, query.columns, query.iterate(employer_no, args))
        # The workbook is written before the first chunk: a failure still answers as an error, not a cut file.
        first = next(chunks, b"")
        return Response(stream_with_context(_rest(first, chunks)), mimetype=XLSX_MIMETYPE,
                        headers={"Content-Disposition": attachment("attachment", query.title + ".xlsx")})


    @blp.route(f"{rule}/print", endpoint=f"{endpoint}_print")
    @allow("employer", "center")
    @blp.arguments(filters_schema, location="query")
    @blp.response(200, content_type="application/pdf", description="PDF, inline")
    @blp.doc(summary=f"{query.title}：打印", responses=_file_response("application/pdf", "PDF, inline"))
    def print_rows(args: dict[str, Any], employer_no: str) -> Response:
        require_employer(employer_no, query.permission)
        caption = [f"单位编号：{employer_no}", *(query.caption(args) if query.caption else [])]
        pdf = render_pdf(query.title, query.columns, query.iterate(employer_no, args), caption=caption,
                         max_rows=PRINT_MAX_ROWS,
                         document=query.document(employer_no, args) if query.document else None)
        return Response(pdf, mimetype="application/pdf",
                        headers={"Content-Disposition": attachment("inline", query.title + ".pdf")})



def _file_response(content_type: str, description: str) -> dict[str, Any]:
    """flask-smorest documents a body only from a schema: a file's body is said here."""
    return {"200": {"description": description,
                    "content": {content_type: {"schema": {"type": "string", "format": "binary"}}}}}


def _rest(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        if first:
            yield first
        yield from chunks
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()  # the temporary file goes even when the client leaves early
