"""Dual control: the requests one center account made and a second one confirms or rejects."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import current_principal

from . import approvals
from .schemas import ApprovalDecisionSchema, ApprovalListSchema, MessageSchema

blp = Blueprint("approvals", __name__, description="Password resets and UKey issues awaiting a second account")

# Which kinds an account sees and may decide depends on its rights (approvals.RIGHTS): a reset needs
# account_admin, a UKey issue or binding ukey_admin, from the requester and the confirmer alike.


@blp.route("/auth/approvals")
@allow("center:account_admin", "center:ukey_admin")
@blp.response(200, ApprovalListSchema)
def list_approvals() -> dict[str, Any]:
    return {"items": approvals.listing(current_principal())}


@blp.route("/auth/approvals/<int:approval_id>/confirm", methods=["POST"])
@allow("center:account_admin", "center:ukey_admin")
@blp.response(200, ApprovalDecisionSchema)
def confirm(approval_id: int) -> dict[str, Any]:
    return approvals.confirm(current_principal(), approval_id)


@blp.route("/auth/approvals/<int:approval_id>/reject", methods=["POST"])
@allow("center:account_admin", "center:ukey_admin")
@blp.response(200, MessageSchema)
def reject(approval_id: int) -> dict[str, str]:
    return {"message": approvals.reject(current_principal(), approval_id)}
