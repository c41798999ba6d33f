from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import require_employer

from . import services
from .schemas import MemberPageSchema, MemberQuery

blp = Blueprint("member", __name__, description="Members (缴存人)")


@blp.route("/employers/<employer_no>/members")
@allow("employer", "center")
@blp.arguments(MemberQuery, location="query")
@blp.response(200, MemberPageSchema)
def list_members(query: dict[str, Any], employer_no: str) -> dict[str, Any]:
    require_employer(employer_no, "member_query")
    items, total = services.list_members(employer_no, query["status"], query["page"], query["per_page"])
    return {"items": items, "total": total, "status_counts": services.status_counts(employer_no)}
