from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.queries import query_blueprint
from hall_common.roster_api import roster_blueprint
from hall_common.security import require_employer, require_reader

from . import services
from .businesses import BOOK, BUSINESSES
from .queries import QUERIES
from .schemas import (
    LookupResultSchema,
    LookupSchema,
    MemberPageSchema,
    MemberQuery,
    SearchQuery,
    SearchResultSchema,
)

blp = Blueprint("member", __name__, description="Members (缴存人)")
# GET /businesses/<business_type>/<business_id>: a roster business's rows, for the center's task page.
businesses_blp = BUSINESSES.blueprint()
rosters_blp = roster_blueprint(BOOK)
queries_blp = query_blueprint("member", QUERIES)
# The member field's type-ahead serves whoever may file one of these businesses or query members.
SEARCH_PERMISSIONS = ("member_query", "seal", "unseal", "member_change", "base_adjust", "supplement")


@blp.route("/employers/<employer_no>/members")
@allow("employer", "center", "service:closure_check")
@blp.arguments(MemberQuery, location="query")
@blp.response(200, MemberPageSchema)
def list_members(query: dict[str, Any], employer_no: str) -> dict[str, Any]:
    require_reader(employer_no, "member_query")
    items, total = services.list_members(employer_no, query["status"], query["page"], query["per_page"])
    return {"items": items, "total": total, "status_counts": services.status_counts(employer_no)}


@blp.route("/employers/<employer_no>/members/search")
@allow("employer", "center")
@blp.arguments(SearchQuery, location="query")
@blp.response(200, SearchResultSchema(many=True))
def search_members(query: dict[str, Any], employer_no: str) -> Any:
    """The member field's type-ahead: by name, ID number or member number, at most ten."""
    principal = require_employer(employer_no)
    if principal.role == "employer" and not set(SEARCH_PERMISSIONS) & set(principal.permissions):
        require_employer(employer_no, "member_query")  # answers 当前账号无权办理该业务
    return services.search(employer_no, query["q"], query["status"])


@blp.route("/employers/<employer_no>/members/lookup", methods=["POST"])
@allow("service:member_read")
@blp.arguments(LookupSchema)
@blp.response(200, LookupResultSchema)
def lookup_members(body: dict[str, Any], employer_no: str) -> dict[str, Any]:
    """Another service's check of its rows' members (the payment service's 补缴 roster): the employer's
    members of these numbers, with name, ID, status and first month; a number not listed is not the
    employer's."""
    return {"items": services.lookup(employer_no, body["member_nos"])}
