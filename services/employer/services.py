"""Employer profile and the employer info change business (manual ch. 3)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay, emit
from hall_common.security import Principal

from .fields import FIELDS_BY_NAME, PROFILE_FIELDS, STATUS_NAMES
from .models import APPROVED, IN_APPROVAL, REJECTED, ChangeHistory, ChangeRequest, Employer

BUSINESS_TYPE = "employer_change"
BUSINESS_TITLE = "单位信息变更"
DUPLICATE_MESSAGE = "存在未审批完成的单位信息变更业务"


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
            {"name": f.name, "label": f.label, "value": display_value(employer, f.name), "editable": f.editable}
            for f in PROFILE_FIELDS
        ],
        "pending_request_id": _pending_request_id(employer_no),
    }


def _pending_request_id(employer_no: str) -> int | None:
    return db.session().scalar(
        select(ChangeRequest.id).where(
            ChangeRequest.employer_no == employer_no, ChangeRequest.status == IN_APPROVAL
        )
    )


def _check_changes(employer: Employer, changes: list[dict[str, str]]) -> list[dict[str, str]]:
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
    rows = _check_changes(employer, changes)
    if _pending_request_id(employer_no) is not None:
        raise BusinessError(DUPLICATE_MESSAGE, 409)
    request = ChangeRequest(employer_no=employer_no, changes=rows, operator=principal.display_name)
    session.add(request)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent submission won the race for the one in-approval slot
        session.rollback()
        raise BusinessError(DUPLICATE_MESSAGE, 409) from exc
    emit(
        session,
        "business.submitted",
        {
            "business_type": BUSINESS_TYPE,
            "business_id": str(request.id),
            "owner": "employer",
            "title": BUSINESS_TITLE,
            "employer_no": employer_no,
            "employer_name": employer.name,
            "initiator": principal.display_name,
            "form": {"changes": rows},
        },
        subject=f"{BUSINESS_TYPE}/{request.id}",
    )
    commit_and_relay(session)
    return request


def apply_outcome(event: dict[str, Any]) -> None:
    """Handler of business.approved / business.rejected; a request is decided once, later deliveries skip."""
    data = event["data"]
    if data.get("business_type") != BUSINESS_TYPE:
        return
    session = db.session()
    request = session.get(ChangeRequest, int(data["business_id"]), with_for_update=True)
    if request is None or request.status != IN_APPROVAL:
        return
    employer = get_employer(request.employer_no)
    approved = event["type"] == "business.approved"
    request.status = APPROVED if approved else REJECTED
    request.decided_at = db.utcnow()
    request.approver = data.get("approver") or ""
    request.opinion = data.get("opinion") or ""
    applied: list[dict[str, str]] = []
    if approved:
        for row in request.changes:
            old = display_value(employer, row["field"])
            setattr(employer, row["field"], row["new"])
            session.add(ChangeHistory(
                employer_no=employer.employer_no, request_id=request.id, field=row["field"],
                label=row["label"], old_value=old, new_value=row["new"], operator=request.operator,
                approver=request.approver, changed_at=request.decided_at,
            ))
            applied.append({**row, "old": old})
    emit(
        session,
        "employer.info_changed" if approved else "employer.info_change_rejected",
        {
            "employer_no": employer.employer_no,
            "employer_name": employer.name,
            "business_type": BUSINESS_TYPE,
            "business_id": str(request.id),
            "title": BUSINESS_TITLE,
            "changes": applied if approved else request.changes,
            "operator": request.operator,
            "approver": request.approver,
            "opinion": request.opinion,
        },
        subject=f"{BUSINESS_TYPE}/{request.id}",
    )


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
    if end:
        query = query.where(ChangeHistory.changed_at < datetime.combine(end + timedelta(days=1), time.min))
    return list(db.session().scalars(query.order_by(ChangeHistory.id)))
