"""A returned employer change: the employer corrects it with its data kept and resubmits it into the
same approval process, or ends the process (that call goes to the workflow service)."""

from __future__ import annotations

from sqlalchemy import select

from hall_common import db
from hall_common.business import integer_id
from hall_common.errors import BusinessError
from hall_common.security import Principal

from .models import PENDING, RETURNED, ChangeRequest
from .services import BUSINESS_TYPE, BUSINESSES, check_changes, get_employer, reopen

MISSING_MESSAGE = "变更申请不存在"
NOT_RETURNED_MESSAGE = "该变更申请未被退回，不能重新提交，请刷新后查看"


def current_request(employer_no: str) -> ChangeRequest | None:
    """The request holding the employer's pending slot (in approval or returned), if any."""
    get_employer(employer_no)
    return db.session().scalar(
        select(ChangeRequest).where(ChangeRequest.employer_no == employer_no, ChangeRequest.status.in_(PENDING))
    )


def resubmit_change(
    principal: Principal, employer_no: str, request_id: int, changes: list[dict[str, str]]
) -> ChangeRequest:
    """Replace a returned request's rows with the corrected ones and send it back into its process.

    One transaction: the rows, returned -> in_approval and ``business.resubmitted`` (the registry's
    shared 重新提交, with this type's corrected rows). The move is a conditional update whose row
    count decides, so of simultaneous resubmissions exactly one goes on and emits; the others answer
    409 and change nothing.
    """
    session = db.session()
    employer = get_employer(employer_no)
    request = session.get(ChangeRequest, request_id) if integer_id(str(request_id)) is not None else None
    if request is None or request.employer_no != employer_no:  # another employer's id looks missing
        raise BusinessError(MISSING_MESSAGE, 404)
    if request.status != RETURNED:
        raise BusinessError(NOT_RETURNED_MESSAGE, 409)
    rows = check_changes(employer, changes)
    BUSINESSES.resubmit_returned(
        principal, BUSINESS_TYPE, str(request_id), lambda business_id, operator: reopen(business_id, operator, rows),
        missing=MISSING_MESSAGE, not_returned=NOT_RETURNED_MESSAGE, employer_name=employer.name,
    )
    # The summary was computed from the corrected rows: reload what the update wrote.
    request = session.get(ChangeRequest, request_id, populate_existing=True)
    assert request is not None
    return request
