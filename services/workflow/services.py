"""Process definitions, instances and the center's user tasks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, cast

from marshmallow import ValidationError
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from hall_common import db
from hall_common.consumer import InvalidEvent
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay, emit
from hall_common.security import Principal

from . import engine
from .models import COMPLETED, OPEN, RUNNING, ProcessDefinition, ProcessInstance, UserTask
from .schemas import SubmittedEventSchema

PROCESS_DIR = Path(__file__).resolve().parent / "processes"
APPROVE, REJECT = "approve", "reject"
TASK_TAKEN = "该任务已办理，请刷新后查看"
SAVE_ATTEMPTS = 5


# -- definitions -----------------------------------------------------------------------------------

def deploy(process_key: str, bpmn_xml: str, deployed_by: str) -> ProcessDefinition:
    """Store a new version unless the latest version has the same content."""
    parsed = engine.parse(bpmn_xml, process_key)
    session = db.session()
    latest = latest_definition(process_key)
    if latest is not None and latest.checksum == parsed.checksum:
        return latest
    definition = ProcessDefinition(
        process_key=process_key, version=(latest.version + 1) if latest else 1, name=parsed.name,
        bpmn_xml=bpmn_xml, spec_json=parsed.spec_json, checksum=parsed.checksum, deployed_by=deployed_by,
    )
    session.add(definition)
    session.flush()
    return definition


def latest_definition(process_key: str) -> ProcessDefinition | None:
    query = (
        select(ProcessDefinition)
        .where(ProcessDefinition.process_key == process_key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )
    return db.session().scalar(query)


def definition_for(process_key: str) -> ProcessDefinition:
    """The deployed definition, deploying the shipped default file the first time it is needed."""
    definition = latest_definition(process_key)
    if definition is None:
        path = PROCESS_DIR / f"{process_key}.bpmn"
        if not path.exists():
            raise BusinessError(f"业务类型 {process_key} 没有已部署的审批流程", 422)
        definition = deploy(process_key, path.read_text(encoding="utf-8"), "system")
    return definition


def deploy_defaults() -> list[ProcessDefinition]:
    deployed = [deploy(p.stem, p.read_text(encoding="utf-8"), "system") for p in sorted(PROCESS_DIR.glob("*.bpmn"))]
    db.session().commit()
    return deployed


# -- instances -------------------------------------------------------------------------------------

def start_process(event: dict[str, Any]) -> None:
    """Handler of business.submitted: start the business type's process, once per business.

    The event carries the business key, a summary and the gateways' variables, never the rows. A
    redelivered or repeated submission meets the unique (business_type, business_id) and starts nothing.
    """
    try:
        data = SubmittedEventSchema().load(event["data"])
    except ValidationError as exc:
        raise InvalidEvent(f"business.submitted with a malformed payload: {exc.messages}") from exc
    definition = definition_for(data["business_type"])
    workflow = engine.start(definition.spec_json, dict(data["variables"]))
    instance_id = _insert_once({
        "definition_id": definition.id, "business_type": data["business_type"],
        "business_id": data["business_id"], "owner": data["owner"], "title": data["title"],
        "employer_no": data["employer_no"], "employer_name": data["employer_name"],
        "initiator": data["initiator"], "summary": data["summary"],
        "row_count": data["row_count"], "status": RUNNING, "state": engine.dump(workflow),
        "serializer_version": engine.SERIALIZER_VERSION, "started_at": db.utcnow(), "version": 1,
    })
    if instance_id is None:
        return
    instance = db.session().get(ProcessInstance, instance_id)
    assert instance is not None
    _after_step(instance, workflow)


def _insert_once(values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING: the new instance's id, or None if the business has one.

    No exception path: an IntegrityError would abort the consumer's whole transaction.
    """
    session = db.session()
    dialect = session.get_bind().dialect.name
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    statement = (
        insert(ProcessInstance)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["business_type", "business_id"])
        .returning(ProcessInstance.id)
    )
    instance_id: int | None = session.execute(statement).scalar_one_or_none()
    return instance_id


def _after_step(instance: ProcessInstance, workflow: Any) -> None:
    """Record new user tasks; if the process has ended, announce the outcome to the owner."""
    session = db.session()
    instance.state = engine.dump(workflow)
    known = set(session.scalars(select(UserTask.task_guid).where(UserTask.instance_id == instance.id)))
    for task in engine.ready_user_tasks(workflow):
        if str(task.id) not in known:
            session.add(UserTask(
                instance_id=instance.id, task_guid=str(task.id), bpmn_id=task.task_spec.bpmn_id,
                name=task.task_spec.bpmn_name or task.task_spec.bpmn_id, candidate_group=engine.candidate_group(task),
            ))
    if not workflow.is_completed():
        return
    approved = bool(workflow.data.get("approved", True))
    instance.status = COMPLETED
    instance.outcome = "approved" if approved else "rejected"
    instance.ended_at = db.utcnow()
    emit(
        session,
        "business.approved" if approved else "business.rejected",
        {
            "business_type": instance.business_type,
            "business_id": instance.business_id,
            "owner": instance.owner,
            "employer_no": instance.employer_no,
            "instance_id": instance.id,
            "approver": workflow.data.get("approver", ""),
            "opinion": workflow.data.get("opinion", ""),
        },
        subject=f"{instance.business_type}/{instance.business_id}",
    )


# -- the center's tasks ----------------------------------------------------------------------------

def list_tasks(status: str, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    session = db.session()
    where = UserTask.status == status
    total = session.scalar(select(func.count()).select_from(UserTask).where(where)) or 0
    query = (
        select(UserTask, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
        .where(where)
        .order_by(UserTask.id.desc() if status != OPEN else UserTask.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return [_task_view(task, instance) for task, instance in session.execute(query)], total


def get_task(task_id: int) -> dict[str, Any]:
    session = db.session()
    task = session.get(UserTask, task_id)
    if task is None:
        raise BusinessError("审批任务不存在", 404)
    instance = session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    return _task_view(task, instance)


def _load(instance: ProcessInstance) -> tuple[Any, ProcessDefinition]:
    """The instance's workflow, restored on the definition version it started on."""
    definition = db.session().get(ProcessDefinition, instance.definition_id)
    assert definition is not None
    return engine.load(instance.state, definition.spec_json), definition


def _task_view(task: UserTask, instance: ProcessInstance) -> dict[str, Any]:
    return {"task": task, "instance": instance}


def complete_task(principal: Principal, task_id: int, decision: str, opinion: str) -> dict[str, Any]:
    """Complete a task once: of concurrent approvers exactly one wins, the others get 409."""
    opinion = opinion.strip()
    if decision == REJECT and not opinion:
        raise BusinessError("审批不通过时请填写审批意见", 422, {"json": {"opinion": ["审批不通过时请填写审批意见"]}})
    session = db.session()
    for attempt in range(SAVE_ATTEMPTS):
        try:
            return _complete_once(principal, task_id, decision, opinion)
        except StaleDataError:
            # Another task of the same instance saved first: our claim is rolled back, try on its state.
            session.rollback()
        except OperationalError as exc:
            session.rollback()
            if not _is_busy(exc):
                raise
        time.sleep(0.05 * (attempt + 1))
    raise BusinessError("系统繁忙，请稍后再试", 503)


def _complete_once(principal: Principal, task_id: int, decision: str, opinion: str) -> dict[str, Any]:
    session = db.session()
    task = session.get(UserTask, task_id, populate_existing=True)
    if task is None:
        raise BusinessError("审批任务不存在", 404)
    if task.status != OPEN:
        raise BusinessError(TASK_TAKEN, 409)
    # The claim is the transaction's first write: on SQLite it waits for the write lock (busy_timeout)
    # instead of failing a read-then-write upgrade, and its row count decides who completes the task.
    claimed = session.execute(
        update(UserTask)
        .where(UserTask.id == task_id, UserTask.status == OPEN)
        .values(status=COMPLETED, assignee=principal.display_name, decision=decision, opinion=opinion,
                completed_at=db.utcnow())
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], claimed).rowcount != 1:
        session.rollback()
        raise BusinessError(TASK_TAKEN, 409)
    instance = session.get(ProcessInstance, task.instance_id, populate_existing=True)
    workflow = _load(instance)[0] if instance is not None and instance.status == RUNNING else None
    spiff_task = engine.find_task(workflow, task.task_guid) if workflow is not None else None
    if instance is None or spiff_task is None:
        session.rollback()
        raise BusinessError(TASK_TAKEN, 409)
    assert workflow is not None
    spiff_task.set_data(approved=decision == APPROVE, opinion=opinion, approver=principal.display_name)
    spiff_task.run()
    workflow.do_engine_steps()
    _after_step(instance, workflow)
    session.flush()  # the instance's UPDATE ... WHERE version = :read_version (StaleDataError if lost)
    commit_and_relay(session)
    session.refresh(task)
    return _task_view(task, instance)


def _is_busy(exc: OperationalError) -> bool:
    """Lock conflicts a fresh transaction resolves (SQLite busy, a PostgreSQL deadlock victim);
    anything else is a real failure."""
    text = str(exc.orig).lower()
    return any(m in text for m in ("database is locked", "database is busy", "deadlock detected"))


def diagram(instance_id: int) -> dict[str, Any]:
    session = db.session()
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise BusinessError("流程实例不存在", 404)
    workflow, definition = _load(instance)
    history = list(session.scalars(select(UserTask).where(UserTask.instance_id == instance.id).order_by(UserTask.id)))
    return {
        "instance": instance,
        "bpmn_xml": definition.bpmn_xml,
        "version": definition.version,
        "completed": engine.completed_nodes(workflow),
        "current": [t.task_spec.bpmn_id for t in engine.ready_user_tasks(workflow)],
        "history": history,
    }
