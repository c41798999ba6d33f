from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.security import require_employer, require_own_employer

from . import services
from .schemas import (
    CountsSchema,
    InboxItemSchema,
    InboxPageSchema,
    InboxQuery,
    InitiatorQuery,
    ResultSchema,
)

blp = Blueprint("notify", __name__, description="The employer's five inboxes")


@blp.route("/employers/<employer_no>/inbox/<box>")
@blp.arguments(InboxQuery, location="query")
@blp.response(200, InboxPageSchema)
def list_box(query: dict[str, Any], employer_no: str, box: str) -> dict[str, Any]:
    require_employer(employer_no)
    items, total, counts = services.box_page(employer_no, box, query["page"], query["per_page"], query["initiator"])
    return {"items": items, "total": total, "counts": counts}


@blp.route("/employers/<employer_no>/inbox-counts")
@blp.arguments(InitiatorQuery, location="query")
@blp.response(200, CountsSchema)
def counts(query: dict[str, Any], employer_no: str) -> dict[str, int]:
    require_employer(employer_no)
    return services.all_counts(employer_no, query["initiator"])


@blp.route("/employers/<employer_no>/inbox-items/<int:item_id>")
@blp.response(200, InboxItemSchema)
def get_item(employer_no: str, item_id: int) -> Any:
    require_employer(employer_no)
    return services.get_item(employer_no, item_id)


@blp.route("/employers/<employer_no>/inbox-items/<int:item_id>/read", methods=["POST"])
@blp.response(200, ResultSchema)
def mark_read(employer_no: str, item_id: int) -> dict[str, Any]:
    # Center staff may read an inbox for support, but its state is the employer's own.
    require_own_employer(employer_no)
    return {"message": "已标为已阅", "item": services.mark_read(employer_no, item_id)}


@blp.route("/employers/<employer_no>/inbox-items/<int:item_id>", methods=["DELETE"])
@blp.response(200, ResultSchema)
def delete(employer_no: str, item_id: int) -> dict[str, Any]:
    require_own_employer(employer_no)
    services.delete(employer_no, item_id)
    return {"message": "消息已删除", "item": None}
