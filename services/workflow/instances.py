"""Process instances: started by a business's submission, stepped by the center's tasks, returned to
the employer and resubmitted into the same instance, ended by the employer or terminated by the center.

Whatever must happen once (start, return -> running, end, terminate) is decided by a conditional
statement's row count, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast

from marshmallow import ValidationError
from sqlalchemy import CursorResult, Table, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hall_common import audit, business_types, db
from hall_common.consumer import InvalidEvent, PermanentEventError
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay, emit
from hall_common.security import Principal

from . import engine
from .definitions import definition_for
from .models import (
    CANCELLED,
    COMPLETED,
    ENDED,
    OPEN,
    RETURNED,
    RUNNING,
    TERMINATED,
    AuditRecord,
    InstanceStep,
    ProcessDefinition,
    ProcessInstance,
    UserTask,
)
from .schemas import SubmittedEventSchema
from .store import INSTANCE_MISSING, event_data, get_instance, load, owner_data, retrying, subject

CANNOT_END = "当前流程不允许结束"
EMPLOYER_ONLY = "结束流程只能由单位经办人办理"
CANNOT_TERMINATE = "该流程已办结或已结束，不能终止"


class ProcessRefused(PermanentEventError):
    """A start or resubmission the definition cannot run (engine.ProcessError: its Chinese message names
    the node). Retrying the same definition cannot help: the event goes to the dead letters at once,
    with nothing stored, for the center to retry once the process is fixed in the designer."""


def _submission(event: dict[str, Any]) -> dict[str, Any]:
    try:
        data: dict[str, Any] = SubmittedEventSchema().load(event["data"])
    except ValidationError as exc:
        raise InvalidEvent(f"{event.get('type')} with a malformed payload: {exc.messages}") from exc
    return data


def start_process(event: dict[str, Any]) -> None:
    """Handler of business.submitted: start the business type's process, once per business.

    The event carries the business key, a summary and the gateways' variables, never the rows. A
    redelivered or repeated submission meets the unique (business_type, business_id) and starts nothing.
    """
    data = _submission(event)
    definition = definition_for(data["business_type"])
    try:
        workflow = engine.start(definition.spec_json, dict(data["variables"]))
    except engine.ProcessError as exc:
        raise ProcessRefused(str(exc)) from exc
    instance_id = _insert_once({
        "definition_id": definition.id, "business_type": data["business_type"],
        "business_id": data["business_id"], "owner": data["owner"], "title": data["title"],
        # The employer permission needed to act on it (end, resubmit), as its owner requires it to submit:
        # the submission's, else the catalog's for an owner that sent none.
        "permission": data["permission"] or business_types.permission_of(data["business_type"]) or "",
        "employer_no": data["employer_no"], "employer_name": data["employer_name"],
        "initiator": data["initiator"], "initiator_login": data["initiator_login"], "summary": data["summary"],
        "row_count": data["row_count"], "status": RUNNING, "state": engine.dump(workflow),
        "serializer_version": engine.SERIALIZER_VERSION, "started_at": db.utcnow(), "version": 1, "seq": 0,
        "end_reason": "",
    })
    if instance_id is None:
        return
    instance = get_instance(instance_id)
    emit(db.session(), "process.started", event_data(instance, summary=instance.summary), subject=subject(instance))
    after_step(instance, workflow, definition, new=True)


def _insert_once(values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING: the new instance's id, or None if the business has one.

    No exception path: an IntegrityError would abort the consumer's whole transaction.
    """
    session = db.session()
    statement = _insert_statement(session.get_bind().dialect.name, tuple(sorted(values)))
    instance_id: int | None = session.execute(statement, {f"v_{k}": v for k, v in values.items()}).scalar_one_or_none()
    return instance_id


@lru_cache(maxsize=8)
def _insert_statement(dialect: str, names: tuple[str, ...]) -> Any:
    """On the table, not the ORM's bulk insert, and built once with bound values (make bench)."""
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    table = cast(Table, ProcessInstance.__table__)
    return (
        insert(table)
        .values({name: bindparam(f"v_{name}", type_=table.c[name].type) for name in names})
        .on_conflict_do_nothing(index_elements=["business_type", "business_id"])
        .returning(table.c.id)
    )


_OPEN_GUIDS = select(UserTask.task_guid).where(UserTask.instance_id == bindparam("instance_id"),
                                               UserTask.status == OPEN)


def after_step(instance: ProcessInstance, workflow: Any, definition: ProcessDefinition, new: bool = False) -> None:
    """Save the state, open a task row for every new ready user task, and if the process reached its
    end, record and announce the outcome of the end event it reached. ``new``: the instance was created
    in this transaction, so it has no open task rows to look up."""
    session = db.session()
    instance.state = engine.dump(workflow)
    open_guids = set() if new else set(session.scalars(_OPEN_GUIDS, {"instance_id": instance.id}))
    for task in engine.ready_user_tasks(workflow):
        if str(task.id) in open_guids:
            continue
        row = UserTask(
            instance_id=instance.id, task_guid=str(task.id), bpmn_id=task.task_spec.bpmn_id,
            name=(task.task_spec.bpmn_name or task.task_spec.bpmn_id)[:100],
            candidate_group=engine.candidate_group(task, definition.task_groups or {}), created_at=db.utcnow(),
        )
        session.add(row)
        session.flush()
        emit(session, "task.created", event_data(instance, task_id=row.id, task_name=row.name,
                                                 candidate_group=row.candidate_group), subject=subject(instance))
    if not workflow.is_completed():
        return
    reached = engine.reached_end(workflow, definition.end_outcomes or {})
    # A definition deployed before end events carried outcomes: the last decision decides.
    outcome = reached[1] if reached else ("approved" if workflow.data.get("approved", True) else "rejected")
    approver = str(workflow.data.get("approver") or "")
    opinion = str(workflow.data.get("opinion") or "")
    approved = outcome == "approved"
    instance.status = COMPLETED
    instance.outcome = outcome
    instance.ended_at = db.utcnow()
    emit(session, "process.completed", event_data(instance, outcome=outcome, approver=approver, opinion=opinion),
         subject=subject(instance))
    emit(
        session,
        "business.approved" if approved else "business.rejected",
        owner_data(instance, approver=approver, opinion=opinion),
        subject=subject(instance),
    )


def cancel_open_tasks(instance_id: int, keep: int | None = None) -> None:
    where = [UserTask.instance_id == instance_id, UserTask.status == OPEN]
    if keep is not None:
        where.append(UserTask.id != keep)
    db.session().execute(
        update(UserTask).where(*where).values(status=CANCELLED, completed_at=db.utcnow())
        .execution_options(synchronize_session=False)
    )


# -- return and resubmit ---------------------------------------------------------------------------

def resubmit_process(event: dict[str, Any]) -> None:
    """Handler of business.resubmitted: the employer corrected a returned business. The same instance
    runs again from its first user task, so every gateway decides afresh on the corrected data."""
    data = _submission(event)
    session = db.session()
    instance_id = session.scalar(select(ProcessInstance.id).where(
        ProcessInstance.business_type == data["business_type"], ProcessInstance.business_id == data["business_id"]))
    if instance_id is None:
        raise InvalidEvent("business.resubmitted for a business that has no process")
    moved = session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id, ProcessInstance.status == RETURNED)
        .values(status=RUNNING, version=ProcessInstance.version + 1)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        return  # ended or already resubmitted meanwhile: nothing to resume
    instance = get_instance(instance_id, fresh=True)
    instance.summary = data["summary"]
    instance.row_count = data["row_count"]
    workflow, definition = load(instance)
    try:
        engine.reset_to_first_user_task(workflow, dict(data["variables"]))
    except engine.ProcessError as exc:  # the instance stays returned: this transaction is rolled back
        raise ProcessRefused(str(exc)) from exc
    session.add(InstanceStep(instance_id=instance.id, kind="resubmit", actor=data["initiator"] or instance.initiator,
                             at=db.utcnow()))
    emit(session, "process.resubmitted", event_data(instance, summary=instance.summary), subject=subject(instance))
    after_step(instance, workflow, definition)


# -- end (employer) and terminate (center) ---------------------------------------------------------

def end_by_employer(principal: Principal, instance_id: int, reason: str) -> ProcessInstance:
    """结束流程: a returned process always, a running one if its definition lets the initiator."""
    instance = get_instance(instance_id)
    if principal.role == "center":
        raise BusinessError(EMPLOYER_ONLY, 403)
    if principal.role != "employer" or principal.employer_no != instance.employer_no:
        raise BusinessError(INSTANCE_MISSING, 404)
    if instance.permission and instance.permission not in principal.permissions:
        raise BusinessError("当前账号无权办理该业务", 403)
    definition = db.session().get(ProcessDefinition, instance.definition_id)
    assert definition is not None
    allowed = [RETURNED, RUNNING] if definition.initiator_may_end else [RETURNED]
    return retrying(lambda: _finish(instance_id, allowed, ENDED, "employer", principal.display_name, reason))


def terminate(principal: Principal, instance_id: int, reason: str) -> ProcessInstance:
    before = get_instance(instance_id).status
    instance = retrying(lambda: _finish(instance_id, [RUNNING, RETURNED], TERMINATED, "center",
                                        principal.display_name, reason, audit_by=principal.login_name,
                                        before=before, refusal=CANNOT_TERMINATE))
    return instance


def _finish(instance_id: int, allowed: list[str], status: str, by: str, actor: str, reason: str,
            audit_by: str | None = None, before: str | None = None, refusal: str = CANNOT_END) -> ProcessInstance:
    session = db.session()
    moved = session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id, ProcessInstance.status.in_(allowed))
        .values(status=status, outcome=status, ended_at=db.utcnow(), end_reason=reason,
                version=ProcessInstance.version + 1)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        session.rollback()
        raise BusinessError(refusal, 409)
    instance = get_instance(instance_id, fresh=True)
    cancel_open_tasks(instance.id)
    session.add(InstanceStep(instance_id=instance.id, kind="end" if status == ENDED else "terminate",
                             actor=actor, reason=reason, at=db.utcnow()))
    emit(session, "process.ended", event_data(instance, by=by, reason=reason), subject=subject(instance))
    emit(session, "business.ended", owner_data(instance, by=by, reason=reason), subject=subject(instance))
    if audit_by is not None:
        audit.record(session, AuditRecord, audit_by, "terminate_instance", f"instance/{instance.id}",
                     detail=reason, before={"status": before}, after={"status": status, "reason": reason})
    session.flush()
    commit_and_relay(session)
    return instance


# -- reading ---------------------------------------------------------------------------------------

def list_instances(query: dict[str, Any]) -> tuple[list[ProcessInstance], int]:
    where: list[Any] = []
    for key in ("business_type", "status", "employer_no"):
        if query.get(key):
            where.append(getattr(ProcessInstance, key) == query[key])
    if query.get("status_in"):
        where.append(ProcessInstance.status.in_(query["status_in"]))
    date_from: date | None = query.get("date_from")
    date_to: date | None = query.get("date_to")
    if date_from:
        where.append(ProcessInstance.started_at >= datetime.combine(date_from, time.min))
    if date_to and date_to < date.max:  # the day after 9999-12-31 does not exist: that end bounds nothing
        where.append(ProcessInstance.started_at < datetime.combine(date_to + timedelta(days=1), time.min))
    session = db.session()
    total = session.scalar(select(func.count()).select_from(ProcessInstance).where(*where)) or 0
    page, per_page = query["page"], query["per_page"]
    rows = session.scalars(select(ProcessInstance).where(*where).order_by(ProcessInstance.id.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def open_of_employer(employer_no: str, page: int, per_page: int) -> tuple[list[ProcessInstance], int]:
    """The employer's businesses still in approval (running, or returned to it for correction)."""
    return list_instances({"employer_no": employer_no, "status_in": (RUNNING, RETURNED), "page": page,
                           "per_page": per_page})


def by_business(business_type: str, business_id: str) -> ProcessInstance:
    instance = db.session().scalar(select(ProcessInstance).where(
        ProcessInstance.business_type == business_type, ProcessInstance.business_id == business_id))
    if instance is None:
        raise BusinessError(INSTANCE_MISSING, 404)
    return instance


def may_end(principal: Principal, instance: ProcessInstance, definition: ProcessDefinition) -> bool:
    if principal.role != "employer" or principal.employer_no != instance.employer_no:
        return False
    if instance.permission and instance.permission not in principal.permissions:
        return False
    return instance.status == RETURNED or (instance.status == RUNNING and definition.initiator_may_end)
