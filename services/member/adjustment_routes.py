"""基数调整's own routes beside the generic roster ones: the batch-edit grid's page and the single entry's
preview. A grid cell is recorded by the roster's PUT .../rows/by-claim/<member_no>."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from hall_common.access import allow
from hall_common.roster_api import EntrySchema
from hall_common.schemas import PageQuery
from hall_common.security import require_own_employer

from . import grid
from .adjustment import CATEGORY_NAMES

blp = Blueprint("base_adjustment", __name__, description="基数调整: the batch-edit grid and the preview")
PERMISSION = "base_adjust"


class GridQuery(PageQuery):
    category = fields.String(load_default="base", validate=validate.OneOf(list(CATEGORY_NAMES), error="变更类别不正确"))
    q = fields.String(load_default="", validate=validate.Length(max=30, error="查询内容不能超过30个字"))
    member_no = fields.String(load_default="", validate=validate.Regexp(r"^[0-9A-Za-z]{0,20}$",
                                                                        error="个人账号格式不正确"))


class GridPageSchema(Schema):
    items = fields.List(fields.Dict(keys=fields.String()))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    category = fields.String()


class PreviewSchema(Schema):
    row = fields.Dict(keys=fields.String())


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
