"""The dead-letter routes every service gets from the app factory; center staff with 死信事件 only."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from . import dead_letters
from .access import allow
from .schemas import PageQuery
from .security import current_principal


class DeadLetterQuery(PageQuery):
    status = fields.String(load_default="open", validate=validate.OneOf(list(dead_letters.FILTERS)))


class DeadLetterSchema(Schema):
    id = fields.Integer()
    event_id = fields.String()
    type = fields.String()
    payload = fields.String()
    last_error = fields.String()
    attempts = fields.Integer()
    status = fields.String()
    first_failed_at = fields.DateTime()
    last_failed_at = fields.DateTime()
    retry_count = fields.Integer()
    retried_at = fields.DateTime(allow_none=True)
    retried_by = fields.String()
    resolved_at = fields.DateTime(allow_none=True)


class DeadLetterPageSchema(Schema):
    items = fields.List(fields.Nested(DeadLetterSchema))
    total = fields.Integer()


class RetryResultSchema(Schema):
    message = fields.String()
    item = fields.Nested(DeadLetterSchema)


def dead_letter_blueprint() -> Blueprint:
    blp = Blueprint("dead_letters", __name__, description="Events this service gave up on, and their retry")

    @blp.route("/dead-letters")
    @allow("center:dead_letters")
    @blp.arguments(DeadLetterQuery, location="query")
    @blp.response(200, DeadLetterPageSchema)
    def list_dead_letters(query: dict[str, Any]) -> dict[str, Any]:
        items, total = dead_letters.list_dead_letters(query["status"], query["page"], query["per_page"])
        return {"items": items, "total": total}

    @blp.route("/dead-letters/<int:dead_letter_id>/retry", methods=["POST"])
    @allow("center:dead_letters")
    @blp.response(200, RetryResultSchema)
    def retry(dead_letter_id: int) -> dict[str, Any]:
        principal = current_principal()
        return {"message": "已重新投递", "item": dead_letters.retry(dead_letter_id, principal.display_name)}

    return blp
