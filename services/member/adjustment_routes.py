"""基数调整's own routes beside the generic roster ones: the batch-edit grid's page and the single entry's
preview. A grid cell is recorded by the roster's PUT .../rows/by-claim/<member_no>."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.roster_api import EntrySchema
from hall_common.security import require_own_employer

from . import grid
from .schemas_changes import GridPageSchema, GridQuery, PreviewSchema

blp = Blueprint("base_adjustment", __name__, description="基数调整: the batch-edit grid and the preview")
PERMISSION = "base_adjust"


@blp.route("/employers/<employer_no>/base-adjustment/grid")
@allow("employer")
@blp.arguments(GridQuery, location="query")
@blp.response(200, GridPageSchema)
def grid_page(query: dict[str, Any], employer_no: str) -> dict[str, Any]:
    """批量录入: a page of the employer's 正常 members with their current figures and roster state."""
    require_own_employer(employer_no, PERMISSION)
    return grid.grid(employer_no, query["category"], query["q"].strip(), query["member_no"], query["page"],
                     query["per_page"])


@blp.route("/employers/<employer_no>/base-adjustment/preview", methods=["POST"])
@allow("employer")
@blp.arguments(EntrySchema)
@blp.response(200, PreviewSchema)
def preview(body: dict[str, Any], employer_no: str) -> dict[str, Any]:
    """The row 录入清册 would add (name, ID, old and new figures), or the same refusal it would meet."""
    require_own_employer(employer_no, PERMISSION)
    return {"row": grid.preview(employer_no, body["values"])}
