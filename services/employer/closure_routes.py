"""零余额销户: the check the page shows and the submission."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import require_employer, require_own_employer

from . import closure
from .schemas import ClosureCheckSchema, SubmittedSchema

blp = Blueprint("closure", __name__, description="Zero-balance closure (零余额销户)")
PERMISSION = "closure"


@blp.route("/employers/<employer_no>/closure")
@allow("employer", "center")
@blp.response(200, ClosureCheckSchema)
def closure_check(employer_no: str) -> dict[str, Any]:
    require_employer(employer_no, PERMISSION)
    return closure.check(employer_no)


@blp.route("/employers/<employer_no>/closure", methods=["POST"])
@allow("employer")
@blp.response(201, SubmittedSchema)
def submit_closure(employer_no: str) -> dict[str, Any]:
    principal = require_own_employer(employer_no, PERMISSION)
    return {"message": "已提交至中心审核", "request": closure.submit(principal, employer_no)}
