"""The roster's routes, the same for every owner and business type (CONTRACT: docs/roster.md).

Reads are the employer's accounts with the type's permission, and center staff; writes (rows, imports,
commit) the employer's own operators only: business is filed in the employer's name.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from . import roster_imports as imports
from . import roster_returns as returns
from .access import allow
from .errors import BusinessError
from .roster import MAX_COMMIT_ROWS, RosterBook
from .schemas import INT32_MAX, PageQuery
from .security import require_employer, require_own_employer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
# A claim in a path: a member number, an ID number (the claims the roster types make).
CLAIM = re.compile(r"^[0-9A-Za-z]{1,40}$")


class ChoiceSchema(Schema):
    value = fields.String()
    label = fields.String()


class FormFieldSchema(Schema):
    key = fields.String()
    label = fields.String()
    kind = fields.String()
    required = fields.Boolean()
    default = fields.String()
    max_length = fields.Integer()
    choices = fields.List(fields.Nested(ChoiceSchema))


class OptionSchema(Schema):
    key = fields.String()
    label = fields.String()
    default = fields.String()
    choices = fields.List(fields.Nested(ChoiceSchema))


class RosterColumnSchema(Schema):
    key = fields.String()
    label = fields.String()


class FormSchema(Schema):
    type = fields.String()
    title = fields.String()
    entry_label = fields.String()
    entry_message = fields.String()
    commit_label = fields.String()
    commit_scope = fields.String()
    fields_ = fields.List(fields.Nested(FormFieldSchema), data_key="fields", attribute="fields")
    columns = fields.List(fields.Nested(RosterColumnSchema))
    import_option = fields.Nested(OptionSchema, allow_none=True)


class RowsPageSchema(Schema):
    items = fields.List(fields.Dict(keys=fields.String()))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class EntrySchema(Schema):
    """A typed row: text values by field key; the type's check reads and normalises them."""

    values = fields.Dict(keys=fields.String(validate=validate.Length(max=40)),
                         values=fields.String(validate=validate.Length(max=200)), required=True,
                         validate=validate.Length(max=40, error="字段过多"))


class ReturnedRowsSchema(RowsPageSchema):
    status = fields.String()
    correctable = fields.Boolean()
    caption = fields.String()
    columns = fields.List(fields.Nested(RosterColumnSchema))


class EntryResultSchema(Schema):
    message = fields.String()
    row = fields.Dict(keys=fields.String())


class CommitSchema(Schema):
    row_ids = fields.List(fields.Integer(validate=validate.Range(1, INT32_MAX)), load_default=list,
                          validate=validate.Length(max=MAX_COMMIT_ROWS, error=f"一次最多办理{MAX_COMMIT_ROWS}条记录"))


class CommittedSchema(Schema):
    message = fields.String()
    business_id = fields.String()
    row_count = fields.Integer()


class ImportErrorSchema(Schema):
    row = fields.Integer()
    field = fields.String()
    reason = fields.String()


class ImportSchema(Schema):
    id = fields.Integer()
    business_type = fields.String()
    file_name = fields.String()
    option = fields.String()
    status = fields.String()
    status_name = fields.String()
    total = fields.Integer()
    done = fields.Integer()
    good = fields.Integer()
    bad = fields.Integer()
    error_count = fields.Integer()
    errors = fields.List(fields.Nested(ImportErrorSchema))
    message = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()


class ImportEnvelopeSchema(Schema):
    message = fields.String()
    import_ = fields.Nested(ImportSchema, data_key="import", attribute="import", allow_none=True)


class OptionQuery(Schema):
    option = fields.String(load_default="", validate=validate.Length(max=20))
    file_name = fields.String(load_default="", validate=validate.Length(max=200))


class MessageSchema(Schema):
    message = fields.String()


def attachment(content: bytes, file_name: str, mimetype: str = XLSX) -> Response:
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(file_name)}"})


FILE_DOC = {"responses": {"200": {"description": "xlsx", "content": {XLSX: {"schema": {"type": "string",
                                                                                    "format": "binary"}}}}}}
# The workbook's bytes as the body, whatever the Content-Type says (the gateway sends the xlsx type);
# documented as octet-stream, which every client and fuzzer can send.
UPLOAD_DOC = {"requestBody": {"required": True, "description": "the xlsx file's bytes",
                              "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                  "format": "binary"}}}}}


def roster_blueprint(book: RosterBook) -> Blueprint:
    blp = Blueprint("rosters", __name__, description="Rosters (清册): single entry, import, delete, commit")
    rows_path = "/employers/<employer_no>/rosters/<business_type>"

    # Another employer's path is refused before anything is looked up, then the type, then its permission.
    def readable(employer_no: str, business_type: str) -> None:
        require_employer(employer_no)
        book.get(business_type)
        require_employer(employer_no, book.permission(business_type))

    def writable(employer_no: str, business_type: str) -> Any:
        require_own_employer(employer_no)
        book.get(business_type)
        return require_own_employer(employer_no, book.permission(business_type))

    @blp.route("/rosters/<business_type>/form")
    @allow("employer", "center")
    @blp.response(200, FormSchema)
    def roster_form(business_type: str) -> dict[str, Any]:
        """The single-entry form, the roster's columns and the import option of a business type."""
        return book.form(business_type)

    @blp.route(rows_path)
    @allow("employer", "center")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, RowsPageSchema)
    def list_rows(query: dict[str, Any], employer_no: str, business_type: str) -> dict[str, Any]:
        readable(employer_no, business_type)
        return book.list_rows(employer_no, business_type, query["page"], query["per_page"])

    @blp.route(rows_path + "/rows", methods=["POST"])
    @allow("employer")
    @blp.arguments(EntrySchema)
    @blp.response(201, EntryResultSchema)
    def add_row(body: dict[str, Any], employer_no: str, business_type: str) -> dict[str, Any]:
        principal = writable(employer_no, business_type)
        row = book.add_row(principal, employer_no, business_type, body["values"])
        return {"message": book.get(business_type).entered(row.data),
                "row": book.row_view(book.get(business_type), row)}

    @blp.route(rows_path + "/rows/by-claim/<claim>", methods=["PUT"])
    @allow("employer")
    @blp.arguments(EntrySchema)
    @blp.response(200, EntryResultSchema)
    def upsert_row(body: dict[str, Any], employer_no: str, business_type: str, claim: str) -> dict[str, Any]:
        """The subject's draft row set to these values, added if it has none (the batch-edit grid)."""
        principal = writable(employer_no, business_type)
        if not CLAIM.match(claim):
            raise BusinessError("记录标识不正确", 404)
        row = book.upsert_row(principal, employer_no, business_type, claim, body["values"])
        return {"message": book.get(business_type).entered(row.data),
                "row": book.row_view(book.get(business_type), row)}

    @blp.route(rows_path + "/rows/<int:row_id>", methods=["DELETE"])
    @allow("employer")
    @blp.response(200, MessageSchema)
    def delete_row(employer_no: str, business_type: str, row_id: int) -> dict[str, Any]:
        writable(employer_no, business_type)
        book.delete_row(employer_no, business_type, row_id)
        return {"message": "删除成功"}

    returned_path = rows_path + "/businesses/<int:business_id>/rows"

    @blp.route(returned_path)
    @allow("employer", "center")
    @blp.arguments(PageQuery, location="query")
    @blp.response(200, ReturnedRowsSchema)
    def returned_rows(query: dict[str, Any], employer_no: str, business_type: str, business_id: int) -> Any:
        """A committed business's rows, each with the values to correct it from while it is returned."""
        readable(employer_no, business_type)
        return returns.rows(book, employer_no, business_type, business_id, query["page"], query["per_page"])

    @blp.route(returned_path + "/<int:row_id>", methods=["PUT"])
    @allow("employer")
    @blp.arguments(EntrySchema)
    @blp.response(200, EntryResultSchema)
    def correct_row(body: dict[str, Any], employer_no: str, business_type: str, business_id: int,
                    row_id: int) -> dict[str, Any]:
        principal = writable(employer_no, business_type)
        row = returns.correct(book, principal, employer_no, business_type, business_id, row_id, body["values"])
        return {"message": "修改成功", "row": book.row_view(book.get(business_type), row)}

    @blp.route(returned_path + "/<int:row_id>", methods=["DELETE"])
    @allow("employer")
    @blp.response(200, MessageSchema)
    def remove_row(employer_no: str, business_type: str, business_id: int, row_id: int) -> dict[str, Any]:
        writable(employer_no, business_type)
        returns.remove(book, employer_no, business_type, business_id, row_id)
        return {"message": "删除成功"}

    @blp.route(rows_path + "/commit", methods=["POST"])
    @allow("employer")
    @blp.arguments(CommitSchema)
    @blp.response(201, CommittedSchema)
    def commit(body: dict[str, Any], employer_no: str, business_type: str) -> dict[str, Any]:
        principal = writable(employer_no, business_type)
        batch = book.commit(principal, employer_no, business_type, body["row_ids"])
        return {"message": book.get(business_type).commit_message, "business_id": str(batch.id),
                "row_count": batch.row_count}

    @blp.route(rows_path + "/template")
    @allow("employer", "center")
    @blp.arguments(OptionQuery, location="query")
    @blp.doc(**FILE_DOC)
    def template(query: dict[str, Any], employer_no: str, business_type: str) -> Response:
        readable(employer_no, business_type)
        content, name = imports.template(book, business_type, query["option"])
        return attachment(content, name)

    @blp.route(rows_path + "/imports", methods=["POST"])
    @allow("employer")
    @blp.arguments(OptionQuery, location="query")
    @blp.doc(**UPLOAD_DOC)
    @blp.response(202, ImportEnvelopeSchema)
    def upload(query: dict[str, Any], employer_no: str, business_type: str) -> dict[str, Any]:
        principal = writable(employer_no, business_type)
        record = imports.start(book, principal, employer_no, business_type, query["option"],
                               request.get_data(cache=False), query["file_name"])
        return {"message": record.message or "文件已上传，正在检查", "import": imports.view(record)}

    @blp.route(rows_path + "/imports/current")
    @allow("employer", "center")
    @blp.response(200, ImportEnvelopeSchema)
    def current_import(employer_no: str, business_type: str) -> dict[str, Any]:
        readable(employer_no, business_type)
        record = imports.current(book, employer_no, business_type)
        return {"message": "", "import": None if record is None else imports.view(record)}

    def owned_import(employer_no: str, import_id: int, write: bool) -> Any:
        record = imports.get(book, employer_no, import_id)
        if write:
            require_own_employer(employer_no, book.permission(record.business_type))
        else:
            require_employer(employer_no, book.permission(record.business_type), missing=imports.MISSING)
        return record

    @blp.route("/employers/<employer_no>/imports/<int:import_id>")
    @allow("employer", "center")
    @blp.response(200, ImportEnvelopeSchema)
    def get_import(employer_no: str, import_id: int) -> dict[str, Any]:
        record = owned_import(employer_no, import_id, write=False)
        return {"message": record.message, "import": imports.view(record)}

    @blp.route("/employers/<employer_no>/imports/<int:import_id>/marked")
    @allow("employer", "center")
    @blp.doc(**FILE_DOC)
    def marked(employer_no: str, import_id: int) -> Response:
        owned_import(employer_no, import_id, write=False)
        content, name = imports.marked(book, employer_no, import_id)
        return attachment(content, name)

    @blp.route("/employers/<employer_no>/imports/<int:import_id>/accept", methods=["POST"])
    @allow("employer")
    @blp.response(200, ImportEnvelopeSchema)
    def accept(employer_no: str, import_id: int) -> dict[str, Any]:
        owned_import(employer_no, import_id, write=True)
        record = imports.accept(book, employer_no, import_id)
        return {"message": record.message, "import": imports.view(record)}

    @blp.route("/employers/<employer_no>/imports/<int:import_id>/discard", methods=["POST"])
    @allow("employer")
    @blp.response(200, ImportEnvelopeSchema)
    def discard(employer_no: str, import_id: int) -> dict[str, Any]:
        owned_import(employer_no, import_id, write=True)
        record = imports.discard(book, employer_no, import_id)
        return {"message": record.message, "import": imports.view(record)}

    return blp


def heavy_tasks(book: RosterBook) -> Any:
    """The heavy worker's tasks of this book: ``register(celery, app)`` (ServiceRuntime.register_heavy)."""

    def register(celery: Any, app: Any) -> None:
        @celery.task(name=f"{book.owner}.roster_import", acks_late=True, ignore_result=True)
        def roster_import(import_id: int) -> None:
            with app.app_context():
                imports.run(book, int(import_id))

    return register

