"""A returned employer change: the employer corrects it with its data kept and resubmits it into the
same approval process, or ends the process (that call goes to the workflow service)."""

from __future__ import annotations

from hall_common.change_roster import MISSING_MESSAGE, NOT_RETURNED_MESSAGE
from hall_common.security import Principal

from .models import ChangeRequest
from .services import CHANGES, get_employer

__all__ = ["MISSING_MESSAGE", "NOT_RETURNED_MESSAGE", "current_request", "resubmit_change"]


def current_request(employer_no: str) -> ChangeRequest | None:
    """The request holding the employer's pending slot (in approval or returned), if any."""
    get_employer(employer_no)
    request: ChangeRequest | None = CHANGES.pending(employer_no)
    return request


def resubmit_change(
    principal: Principal, employer_no: str, request_id: int, changes: list[dict[str, str]]
) -> ChangeRequest:
    """Replace a returned request's rows with the corrected ones and send it back into its process
    (the change roster's resubmission: one transaction, of simultaneous ones exactly one goes on)."""
    employer = get_employer(employer_no)
    request: ChangeRequest = CHANGES.resubmit(principal, request_id, changes, employer_no=employer_no,
                                              employer_name=employer.name)
    return request
