"""缴存人信息变更 (ch. 9): the member service's routes of the change roster configured for a member."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import require_employer, require_own_employer

from . import info_change
from .schemas_changes import (
    MemberChangeResubmitSchema,
    MemberChangeSubmitSchema,
    MemberProfileSchema,
    MemberSubmittedSchema,
    PendingPageSchema,
    PendingQuery,
    ProfileQuery,
)

blp = Blueprint("member_change", __name__, description="Member info change (缴存人信息变更)")
PERMISSION = "member_change"
SUBMITTED = "已提交至中心审核"


@blp.route("/employers/<employer_no>/member-changes/profile")
@allow("employer", "center")
@blp.arguments(ProfileQuery, location="query")
@blp.response(200, MemberProfileSchema)
def member_profile(query: dict[str, Any], employer_no: str) -> dict[str, Any]:
    """The member echoed for the change page, greyed items included, with its pending change or null."""
    require_employer(employer_no, PERMISSION)
    return info_change.profile(employer_no, query["member_no"])


@blp.route("/employers/<employer_no>/member-changes")
@allow("employer", "center")
@blp.arguments(PendingQuery, location="query")
@blp.response(200, PendingPageSchema)
def pending_changes(query: dict[str, Any], employer_no: str) -> dict[str, Any]:
    """The employer's changes in approval or returned (``status`` narrows), newest first, paged."""
    require_employer(employer_no, PERMISSION)
    items, total = info_change.pending_requests(employer_no, query["status"], query["page"], query["per_page"])
    return {"items": items, "total": total}


@blp.route("/employers/<employer_no>/member-changes", methods=["POST"])
@allow("employer")
@blp.arguments(MemberChangeSubmitSchema)
@blp.response(201, MemberSubmittedSchema)
def submit_change(body: dict[str, Any], employer_no: str) -> dict[str, Any]:
    principal = require_own_employer(employer_no, PERMISSION)
    request = info_change.submit(principal, employer_no, body["member_no"], body["changes"])
    return {"message": SUBMITTED, "request": request}


@blp.route("/employers/<employer_no>/member-changes/<int:request_id>", methods=["PUT"])
@allow("employer")
@blp.arguments(MemberChangeResubmitSchema)
@blp.response(200, MemberSubmittedSchema)
def resubmit_change(body: dict[str, Any], employer_no: str, request_id: int) -> dict[str, Any]:
    """A returned change corrected and resubmitted into its process, its rows replaced."""
    principal = require_own_employer(employer_no, PERMISSION)
    request = info_change.resubmit(principal, employer_no, request_id, body["changes"])
    return {"message": SUBMITTED, "request": request}
