"""The policy API (政策参数): the center keeps the versions (permission 政策参数), every session and the
services read the version in force on a date."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import current_principal

from . import policy_admin
from .schemas_policy import InForceQuery, PolicyInSchema, PolicyListQuery, PolicyPageSchema, PolicySchema

blp = Blueprint("policy", __name__, description="The center's policy versions (政策参数)")


def _actor() -> str:
    return current_principal().login_name


@blp.route("/policy/versions")
@allow("center:policy")
@blp.arguments(PolicyListQuery, location="query")
@blp.response(200, PolicyPageSchema)
def list_versions(query: dict[str, Any]) -> dict[str, Any]:
    items, total = policy_admin.list_versions(query["page"], query["per_page"])
    return {"items": items, "total": total}


@blp.route("/policy/versions", methods=["POST"])
@allow("center:policy")
@blp.arguments(PolicyInSchema)
@blp.response(201, PolicySchema)
def create_version(data: dict[str, Any]) -> dict[str, Any]:
    return policy_admin.create_version(_actor(), data)


@blp.route("/policy/versions/<int:version_id>")
@allow("center:policy")
@blp.response(200, PolicySchema)
def get_version(version_id: int) -> dict[str, Any]:
    return policy_admin.get_version(version_id)


@blp.route("/policy/versions/<int:version_id>", methods=["PUT"])
@allow("center:policy")
@blp.arguments(PolicyInSchema)
@blp.response(200, PolicySchema)
def update_version(data: dict[str, Any], version_id: int) -> dict[str, Any]:
    """A version not yet in force, replaced whole; one in force or past answers 409 (add a version)."""
    return policy_admin.update_version(_actor(), version_id, data)


@blp.route("/policy/versions/<int:version_id>", methods=["DELETE"])
@allow("center:policy")
@blp.response(204)
def delete_version(version_id: int) -> None:
    policy_admin.delete_version(_actor(), version_id)


@blp.route("/policy/in-force")
@allow("employer", "center", "service:policy_read")
@blp.arguments(InForceQuery, location="query")
@blp.response(200, PolicySchema)
def in_force(query: dict[str, Any]) -> dict[str, Any]:
    """The version in force on ``on`` (YYYY-MM-DD, today if absent): every limit a business is checked
    against on that day. Not employer data: any employer session may read it."""
    return policy_admin.in_force_view(query["on"])
