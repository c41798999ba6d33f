from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import require_employer, require_own_employer

from . import returns, services
from .schemas import (
    ChangeRequestSchema,
    ChangeSubmitSchema,
    CurrentRequestSchema,
    HistoryQuerySchema,
    HistorySchema,
    ProfileSchema,
    SubmittedSchema,
)

blp = Blueprint("employer", __name__, description="Employer profile and info change (单位信息变更)")
PERMISSION = "employer_change"
# GET /businesses/<business_type>/<business_id>: the rows of a business, for the center's task page.
businesses_blp = services.BUSINESSES.blueprint()


@blp.route("/employers/<employer_no>")
@allow("employer", "center")
@blp.response(200, ProfileSchema)
def get_profile(employer_no: str) -> dict[str, Any]:
    require_employer(employer_no)  # the home page shows it to every account of the employer
    return services.profile(employer_no)


@blp.route("/employers/<employer_no>/change-requests", methods=["POST"])
@allow("employer")
@blp.arguments(ChangeSubmitSchema)
@blp.response(201, SubmittedSchema)
def submit_change(body: dict[str, Any], employer_no: str) -> dict[str, Any]:
    principal = require_own_employer(employer_no, PERMISSION)
    request = services.submit_change(principal, employer_no, body["changes"])
    return {"message": "已提交至中心审核", "request": request}


@blp.route("/employers/<employer_no>/change-requests")
@allow("employer", "center")
@blp.response(200, ChangeRequestSchema(many=True))
def list_change_requests(employer_no: str) -> Any:
    require_employer(employer_no, PERMISSION)
    return services.change_requests(employer_no)


@blp.route("/employers/<employer_no>/change-requests/current")
@allow("employer", "center")
@blp.response(200, CurrentRequestSchema)
def current_change_request(employer_no: str) -> dict[str, Any]:
    """The pending request (in approval, or returned with the reviewer's opinion), or null."""
    require_employer(employer_no, PERMISSION)
    return {"request": returns.current_request(employer_no)}


@blp.route("/employers/<employer_no>/change-requests/<int:request_id>", methods=["PUT"])
@allow("employer")
@blp.arguments(ChangeSubmitSchema)
@blp.response(200, SubmittedSchema)
def resubmit_change(body: dict[str, Any], employer_no: str, request_id: int) -> dict[str, Any]:
    """A returned request corrected and resubmitted into its process, its rows replaced."""
    principal = require_own_employer(employer_no, PERMISSION)
    request = returns.resubmit_change(principal, employer_no, request_id, body["changes"])
    return {"message": "已提交至中心审核", "request": request}


@blp.route("/employers/<employer_no>/change-history")
@allow("employer", "center")
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, HistorySchema(many=True))
def change_history(query: dict[str, Any], employer_no: str) -> Any:
    require_employer(employer_no, "employer_query")
    return services.change_history(employer_no, query["start_date"], query["end_date"])
