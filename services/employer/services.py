"""Employer profile and the employer info change business (manual ch. 3)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from hall_common import business_types, db
from hall_common import changes as notices
from hall_common.business import BusinessRegistry
from hall_common.change_roster import ChangeRoster
from hall_common.errors import BusinessError
from hall_common.outbox import emit
from hall_common.queries import day_range
from hall_common.security import Principal

from .fields import PROFILE_FIELDS, STATUS_NAMES
from .models import ChangeHistory, ChangeRequest, Employer

BUSINESS_TYPE = "employer_change"
BUSINESS_TITLE = business_types.resolve(BUSINESS_TYPE).title  # declared once, in the catalog
DUPLICATE_MESSAGE = "存在未审批完成的单位信息变更业务"
# The profile (its fields and its pending request) is cached by the gateway's home page: every change of
# either row tells it after the commit, whether written through the ORM or by a statement (_transition).
notices.watch(Employer, notices.PROFILE)
notices.watch(ChangeRequest, notices.PROFILE)


def get_employer(employer_no: str) -> Employer:
    employer = db.session().get(Employer, employer_no)
    if employer is None:
        raise BusinessError("单位不存在", 404)
    return employer


def display_value(employer: Employer, name: str) -> str:
    value = getattr(employer, name)
    if name == "status":
        return f"{value} {STATUS_NAMES.get(value, '')}".strip()
    if name.endswith("_ratio"):
        return f"{value * 100:.2f}%"
    return "" if value is None else str(value)


def profile(employer_no: str) -> dict[str, Any]:
    employer = get_employer(employer_no)
    return {
        "employer_no": employer.employer_no,
        "name": employer.name,
        "fields": [
            {"name": f.name, "label": f.label, "value": display_value(employer, f.name), "editable": f.editable,
             "max_length": f.max_length}
            for f in PROFILE_FIELDS
        ],
        "pending_request_id": _pending_request_id(employer_no),
    }


def _pending_request_id(employer_no: str) -> int | None:
    """The request holding the employer's one pending slot: in approval, or returned for correction."""
    return CHANGES.pending_id(employer_no)


def check_changes(employer: Employer, changes: list[dict[str, str]]) -> list[dict[str, str]]:
    """Validate every roster row; collect all row errors so the operator fixes them in one go."""
    return CHANGES.check(employer, changes)


def submit_change(principal: Principal, employer_no: str, changes: list[dict[str, str]]) -> ChangeRequest:
    employer = get_employer(employer_no)
    request: ChangeRequest = CHANGES.submit(principal, employer, changes, employer_no=employer_no,
                                            employer_name=employer.name)
    return request


# -- the business as the registry sees it: the shared change roster, configured for the employer ------

def _history(request: ChangeRequest, employer: Employer, row: dict[str, str], old: str) -> ChangeHistory:
    return ChangeHistory(
        employer_no=employer.employer_no, request_id=request.id, field=row["field"], label=row["label"],
        old_value=old, new_value=row["new"], operator=request.operator, approver=request.approver,
        changed_at=request.decided_at,
    )


def _applied(request: ChangeRequest, employer: Employer, applied: list[dict[str, str]]) -> None:
    emit(db.session(), "employer.info_changed", _decided(request, employer, applied), subject=CHANGES.subject(request))


def _rejected(request: ChangeRequest, employer: Employer) -> None:
    data = _decided(request, employer, request.changes)
    emit(db.session(), "employer.info_change_rejected", data, subject=CHANGES.subject(request))


def _decided(request: ChangeRequest, employer: Employer, changes: list[dict[str, str]]) -> dict[str, Any]:
    """The domain event's data; the types are literal at each emit so the event catalog test sees them."""
    return CHANGES.event_data(request, employer.name, changes, BUSINESS_TITLE)


BUSINESSES = BusinessRegistry("employer")
CHANGES = ChangeRoster(
    business_type=BUSINESS_TYPE, registry=BUSINESSES, model=ChangeRequest, fields=PROFILE_FIELDS,
    pending_message=DUPLICATE_MESSAGE, slot="employer_no",
    target=lambda request: get_employer(request.employer_no), current=display_value, history=_history,
    on_applied=_applied, on_rejected=_rejected,
)
CHANGES.register()
summarize, read_rows, reopen = CHANGES.summarize, CHANGES.read_rows, CHANGES.reopen
mark_returned, apply_change, discard_change = CHANGES.mark_returned, CHANGES.apply, CHANGES.discard


def change_requests(employer_no: str) -> list[ChangeRequest]:
    get_employer(employer_no)
    query = select(ChangeRequest).where(ChangeRequest.employer_no == employer_no).order_by(ChangeRequest.id.desc())
    return list(db.session().scalars(query))


def change_history(employer_no: str, start: date | None, end: date | None) -> list[ChangeHistory]:
    get_employer(employer_no)
    if start and end and start > end:
        raise BusinessError("开始日期不能晚于结束日期", 422)
    query = day_range(select(ChangeHistory).where(ChangeHistory.employer_no == employer_no),
                      ChangeHistory.changed_at, start, end)
    return list(db.session().scalars(query.order_by(ChangeHistory.id)))
