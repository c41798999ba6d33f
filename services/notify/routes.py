from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.schemas import PageQuery
from hall_common.security import current_principal, require_employer, require_own_employer

from . import push, services
from .filters import Filters
from .schemas import (
    CountsSchema,
    InboxItemSchema,
    InboxPageSchema,
    InboxQuery,
    InitiatorQuery,
    PushOutSchema,
    PushPageSchema,
    PushResultSchema,
    PushSchema,
    ResultSchema,
)

blp = Blueprint("notify", __name__, description="The employer's five inboxes")


@blp.route("/employers/<employer_no>/inbox/<box>")
@allow("employer", "center")
@blp.arguments(InboxQuery, location="query")
@blp.response(200, InboxPageSchema)
def list_box(query: dict[str, Any], employer_no: str, box: str) -> dict[str, Any]:
    require_employer(employer_no)
    items, total, counts = services.box_page(employer_no, box, query["page"], query["per_page"], query["initiator"],
                                             Filters.of(query))
    return {"items": items, "total": total, "counts": counts}


@blp.route("/employers/<employer_no>/inbox-counts")
@allow("employer", "center")
@blp.arguments(InitiatorQuery, location="query")
@blp.response(200, CountsSchema)
def counts(query: dict[str, Any], employer_no: str) -> dict[str, int]:
    require_employer(employer_no)
    return services.all_counts(employer_no, query["initiator"])


@blp.route("/employers/<employer_no>/inbox-items/<int:item_id>")
@allow("employer", "center")
@blp.response(200, InboxItemSchema)
def get_item(employer_no: str, item_id: int) -> Any:
    require_employer(employer_no)
    return services.get_item(employer_no, item_id)


@blp.route("/employers/<employer_no>/inbox-items/<int:item_id>/read", methods=["POST"])
@allow("employer")
@blp.response(200, ResultSchema)
def mark_read(employer_no: str, item_id: int) -> dict[str, Any]:
    # Center staff may read an inbox for support, but its state is the employer's own.
    require_own_employer(employer_no)
    return {"message": "已标为已阅", "item": services.mark_read(employer_no, item_id)}


@blp.route("/employers/<employer_no>/inbox-items/<int:item_id>", methods=["DELETE"])
@allow("employer")
@blp.response(200, ResultSchema)
def delete(employer_no: str, item_id: int) -> dict[str, Any]:
    require_own_employer(employer_no)
    services.delete(employer_no, item_id)
    return {"message": "消息已删除", "item": None}


# -- pushes ---------------------------------------------------------------------------------------

@blp.route("/pushes", methods=["POST"])
@allow("center:push", "service:push")
@blp.arguments(PushSchema)
@blp.response(202, PushResultSchema)
@blp.alt_response(200, schema=PushResultSchema, description="a retry of an earlier request (same client_key)")
@blp.alt_response(429, description="too many pushes of this sender, or its daily broadcasts used up")
def send_push(body: dict[str, Any]) -> Any:
    """Push a message to one employer, a list or every employer. Center staff, or a downstream system
    with a service token carrying ``push``. A broadcast is stored in the background (status
    ``storing``, then ``done``) and counts against the sender's daily quota. A retried request with the
    same ``client_key`` and the same normalised request stores nothing again (200); the same key with
    another request answers 409. Too many requests of one sender answer 429."""
    principal = current_principal()
    found, created = push.create(principal, body)
    message = ("已受理，正在推送" if found.status == "storing" else f"已推送至{found.stored}个单位") if created \
        else "该推送已受理，未重复推送"
    return {"message": message, "push": found}, 202 if created else 200


@blp.route("/pushes")
@allow("center:push", "service:push")
@blp.arguments(PageQuery, location="query")
@blp.response(200, PushPageSchema)
def list_pushes(query: dict[str, Any]) -> dict[str, Any]:
    """Center staff: every push. A downstream system (service token with ``push``): only its own."""
    items, total = push.list_pushes(current_principal(), query["page"], query["per_page"])
    return {"items": items, "total": total}


@blp.route("/pushes/<int:push_id>")
@allow("center:push", "service:push")
@blp.response(200, PushOutSchema)
def get_push(push_id: int) -> Any:
    """A push's status (``storing``, ``done``) and how many employers it reached so far; a service
    token reads only its own pushes (another's answers 404)."""
    return push.get_push(current_principal(), push_id)
