from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from hall_common.access import allow
from hall_common.security import require_reader

from . import services
from .schemas import AccountSummarySchema

blp = Blueprint("payment", __name__, description="Employer and member accounts")


@blp.route("/employers/<employer_no>/account")
@allow("employer", "center", "service:closure_check")
@blp.response(200, AccountSummarySchema)
def account(employer_no: str) -> dict[str, Any]:
    require_reader(employer_no)
    return services.account_summary(employer_no)
