"""Employer profile and the employer info change business (manual ch. 3)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast

from marshmallow import ValidationError
from sqlalchemy import CursorResult, Integer, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from hall_common import business_types, db
from hall_common import changes as notices
from hall_common.business import (
    ENDED as ENDED_KIND,
)
from hall_common.business import (
    BusinessRegistry,
    BusinessType,
    Column,
    Outcome,
    Rows,
    Summary,
    integer_id,
)
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay, emit
from hall_common.security import Principal

from .fields import FIELDS_BY_NAME, PROFILE_FIELDS, STATUS_NAMES
from .models import (
    APPROVED,
    ENDED,
    IN_APPROVAL,
    PENDING,
    REJECTED,
    RETURNED,
    ChangeHistory,
    ChangeRequest,
    Employer,
)

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
    return db.session().scalar(
        select(ChangeRequest.id).where(
            ChangeRequest.employer_no == employer_no, ChangeRequest.status.in_(PENDING)
        )
    )


def check_changes(employer: Employer, changes: list[dict[str, str]]) -> list[dict[str, str]]:
    """Validate every roster row; collect all row errors so the operator fixes them in one go."""
    if not changes:
        raise BusinessError("待变更清册为空，请先修改需变更的项目", 422)
    errors: dict[str, dict[str, list[str]]] = {}
    lines: list[str] = []
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, change in enumerate(changes):
        field = FIELDS_BY_NAME.get(change["field"])
        value = change["value"].strip()
        label = field.label if field else change["field"]
        reason = None
        if field is None:
            reason = "不存在该信息项"
        elif not field.editable:
            reason = "置灰项不允许修改"
        elif field.name in seen:
            reason = "同一项目在清册中重复"
        elif value == display_value(employer, field.name):
            reason = "变更后的内容与原内容相同"
        elif field.validate is not None:
            try:
                field.validate(value)
            except ValidationError as exc:
                reason = "；".join(str(m) for m in exc.messages)  # type: ignore[union-attr]
        if reason:
            errors[str(index)] = {"value": [reason]}
            lines.append(f"第{index + 1}行 {label}：{reason}")
            continue
        assert field is not None
        seen.add(field.name)
        rows.append({"field": field.name, "label": field.label, "old": display_value(employer, field.name),
                     "new": value})
    if errors:
        raise BusinessError("；".join(lines), 422, {"json": {"changes": errors}})
    return rows


def submit_change(principal: Principal, employer_no: str, changes: list[dict[str, str]]) -> ChangeRequest:
    session = db.session()
    employer = get_employer(employer_no)
    rows = check_changes(employer, changes)
    if _pending_request_id(employer_no) is not None:
        raise BusinessError(DUPLICATE_MESSAGE, 409)
    request = ChangeRequest(employer_no=employer_no, changes=rows, operator=principal.display_name)
    session.add(request)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent submission won the race for the one in-approval slot
        session.rollback()
        raise BusinessError(DUPLICATE_MESSAGE, 409) from exc
    BUSINESSES.submit(
        session, BUSINESS_TYPE, str(request.id),
        employer_no=employer_no, employer_name=employer.name, initiator=principal.display_name,
        initiator_login=principal.login_name,
    )
    commit_and_relay(session)
    return request


# -- the business as the registry sees it ------------------------------------------------------------

def _request(business_id: str) -> ChangeRequest | None:
    request_id = integer_id(business_id)
    return None if request_id is None else db.session().get(ChangeRequest, request_id)


def summarize(business_id: str) -> Summary:
    request = _request(business_id)
    if request is None:
        raise LookupError(f"change request {business_id} does not exist")
    return Summary(text="、".join(row["label"] for row in request.changes), row_count=len(request.changes))


def read_rows(business_id: str, page: int, per_page: int) -> Rows | None:
    request = _request(business_id)
    if request is None:
        return None
    start = (page - 1) * per_page
    items = [{"label": r["label"], "old": r["old"], "new": r["new"]} for r in request.changes[start:start + per_page]]
    return Rows(employer_no=request.employer_no, items=items, total=len(request.changes))


def _decide(outcome: Outcome) -> ChangeRequest | None:
    """Move the request out of approval once (approved or rejected)."""
    return _transition(outcome, (IN_APPROVAL,), status=APPROVED if outcome.approved else REJECTED,
                       decided_at=db.utcnow(), approver=outcome.approver, opinion=outcome.opinion)


def _transition(outcome: Outcome, from_states: tuple[str, ...], **values: Any) -> ChangeRequest | None:
    """Move the request from one of ``from_states`` once: the conditional update's row count decides,
    so of concurrent deliveries (or an approval racing a rejection or an end) exactly one goes on.
    Returns the request if this call moved it."""
    session = db.session()
    request_id = integer_id(outcome.business_id)
    if request_id is None:
        raise LookupError(f"change request {outcome.business_id} does not exist")
    if outcome.instance_id is not None:
        values["instance_id"] = outcome.instance_id
    moved = session.execute(_transition_statement(from_states, tuple(sorted(values))),
                            {"request_id": request_id, **{f"v_{k}": v for k, v in values.items()}})
    request = session.get(ChangeRequest, request_id, populate_existing=True)
    if request is None:
        raise LookupError(f"change request {request_id} does not exist")
    if cast(CursorResult[Any], moved).rowcount != 1:
        return None
    return request


@lru_cache(maxsize=32)
def _transition_statement(from_states: tuple[str, ...], names: tuple[str, ...]) -> Any:
    """On the table and built once per kind of move, with bound values: one runs for every outcome."""
    table = cast(Table, ChangeRequest.__table__)
    return (update(table)
            .where(table.c.id == bindparam("request_id", type_=Integer()), table.c.status.in_(from_states))
            .values({name: bindparam(f"v_{name}", type_=table.c[name].type) for name in names}))


def mark_returned(outcome: Outcome) -> None:
    """A reviewer sent the request back: it keeps its rows for the employer to correct, with the
    reviewer's opinion. Only a request in approval can be returned; a late or repeated delivery (the
    request ended or was resubmitted meanwhile) changes nothing."""
    _transition(outcome, (IN_APPROVAL,), status=RETURNED, returned_at=db.utcnow(),
                approver=outcome.approver, opinion=outcome.opinion)


def apply_change(outcome: Outcome) -> None:
    request = _decide(outcome)
    if request is None:
        return
    session = db.session()
    employer = get_employer(request.employer_no)
    applied: list[dict[str, str]] = []
    for row in request.changes:
        old = display_value(employer, row["field"])
        setattr(employer, row["field"], row["new"])
        session.add(ChangeHistory(
            employer_no=employer.employer_no, request_id=request.id, field=row["field"],
            label=row["label"], old_value=old, new_value=row["new"], operator=request.operator,
            approver=request.approver, changed_at=request.decided_at,
        ))
        applied.append({**row, "old": old})
    emit(db.session(), "employer.info_changed", _decided(request, employer, applied), subject=_subject(request))


def discard_change(outcome: Outcome) -> None:
    if outcome.kind == ENDED_KIND:
        # 结束流程 (or terminated by the center) while in approval or returned: finished without effect,
        # the slot is free for a new submission. The employer learns it from the process's own events.
        _transition(outcome, PENDING, status=ENDED, decided_at=db.utcnow(),
                    ended_by=outcome.by or None, end_reason=outcome.reason)
        return
    request = _decide(outcome)
    if request is not None:
        data = _decided(request, get_employer(request.employer_no), request.changes)
        emit(db.session(), "employer.info_change_rejected", data, subject=_subject(request))


def _decided(request: ChangeRequest, employer: Employer, changes: list[dict[str, str]]) -> dict[str, Any]:
    """The domain event's data; the types are literal at each emit so the event catalog test sees them."""
    return {
        "employer_no": employer.employer_no,
        "employer_name": employer.name,
        "business_type": BUSINESS_TYPE,
        "business_id": str(request.id),
        "title": BUSINESS_TITLE,
        "changes": changes,
        # What the message's reference names (the catalog's summary_label: 变更项).
        "summary": "、".join(row["label"] for row in changes)[:200],
        "operator": request.operator,
        "approver": request.approver,
        "opinion": request.opinion,
    }


def _subject(request: ChangeRequest) -> str:
    return f"{BUSINESS_TYPE}/{request.id}"


def reopen(business_id: str, operator: str, rows: list[dict[str, str]] | None = None) -> bool:
    """returned -> in_approval once (the row count decides), with the corrected rows if given, else as
    it stands (the generic 重新提交)."""
    request_id = integer_id(business_id)
    if request_id is None:
        return False
    values: dict[str, Any] = {"status": IN_APPROVAL, "operator": operator, "submitted_at": db.utcnow(),
                              "approver": None, "opinion": None}
    if rows is not None:
        values["changes"] = rows
    session = db.session()
    moved = session.execute(update(ChangeRequest).where(ChangeRequest.id == request_id,
                                                        ChangeRequest.status == RETURNED)
                            .values(**values).execution_options(synchronize_session=False))
    if cast(CursorResult[Any], moved).rowcount != 1:  # another click resubmitted (or it ended) meanwhile
        return False
    session.get(ChangeRequest, request_id, populate_existing=True)  # the summary reads the new rows
    return True


BUSINESSES = BusinessRegistry("employer")
BUSINESSES.register(BusinessType(
    type=BUSINESS_TYPE,
    summarize=summarize,
    read_rows=read_rows,
    apply=apply_change,
    discard=discard_change,
    mark_returned=mark_returned,
    columns=(Column("label", "变更项目"), Column("old", "变更前"), Column("new", "变更后")),
    rows_caption="变更清册",
    reopen=reopen,
))


def change_requests(employer_no: str) -> list[ChangeRequest]:
    get_employer(employer_no)
    query = select(ChangeRequest).where(ChangeRequest.employer_no == employer_no).order_by(ChangeRequest.id.desc())
    return list(db.session().scalars(query))


def change_history(employer_no: str, start: date | None, end: date | None) -> list[ChangeHistory]:
    get_employer(employer_no)
    if start and end and start > end:
        raise BusinessError("开始日期不能晚于结束日期", 422)
    query = select(ChangeHistory).where(ChangeHistory.employer_no == employer_no)
    if start:
        query = query.where(ChangeHistory.changed_at >= datetime.combine(start, time.min))
    if end and end < date.max:  # the day after 9999-12-31 does not exist: that end bounds nothing
        query = query.where(ChangeHistory.changed_at < datetime.combine(end + timedelta(days=1), time.min))
    return list(db.session().scalars(query.order_by(ChangeHistory.id)))
