"""The center's user tasks: the group inbox, claim and release, complete (approve, reject, return) and
the admin's reassign.

(Named usertasks, not tasks: ``tasks.py`` is each service's module of event handlers.)

Exactly once: a task changes hands or completes by ``UPDATE ... WHERE status = 'open' [AND assignee
...]`` whose row count decides, never by a read followed by a write; the instance's save is guarded by
its optimistic version (two tasks of one instance completed at once both count, one after the other).
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Integer, Table, bindparam, func, or_, select, update
from sqlalchemy.orm import defer
from sqlalchemy.orm.attributes import set_committed_value

from hall_common import audit, db
from hall_common.errors import BusinessError
from hall_common.outbox import commit_and_relay, emit
from hall_common.security import Principal

from . import engine
from .instances import after_step, cancel_open_tasks
from .models import COMPLETED, OPEN, RETURNED, RUNNING, AuditRecord, ProcessInstance, UserTask
from .store import TASK_TAKEN, event_data, get_instance, load, lock_instance, owner_data, retrying, subject

APPROVE, REJECT, RETURN = "approve", "reject", "return"
NOT_IN_GROUP = "您不在该任务的候选组中"
MONITOR = "process_monitor"  # the center permission that sees every open task (流程监控)
OPINION_REQUIRED = {REJECT: "审批不通过时请填写审批意见", RETURN: "退回时请填写退回意见"}
DECISION_NAMES = {APPROVE: "通过", REJECT: "不通过", RETURN: "退回"}  # as the audit record's detail says it


def _view(task: UserTask, instance: ProcessInstance) -> dict[str, Any]:
    return {"task": task, "instance": instance}


def list_tasks(principal: Principal, query: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    scope, status = query["scope"], query["status"]
    where: list[Any] = [UserTask.status == (OPEN if status == "open" else COMPLETED)]
    if scope == "group":
        where.append(UserTask.candidate_group.in_(sorted(principal.groups)))
    elif scope == "mine":
        where.append(UserTask.assignee == principal.login_name)
    elif MONITOR not in principal.permissions:  # scope all: the process monitor's view
        raise BusinessError("当前账号无权进行该操作", 403)
    if query.get("business_type"):
        where.append(ProcessInstance.business_type == query["business_type"])
    session = db.session()
    # Not the engine's state: a list never shows it, and it is most of an instance's row (make bench).
    joined = (select(UserTask, ProcessInstance).join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
              .options(defer(ProcessInstance.state)))
    total = session.scalar(select(func.count()).select_from(joined.where(*where).subquery())) or 0
    page, per_page = query["page"], query["per_page"]
    ordered = joined.where(*where).order_by(UserTask.id if status == "open" else UserTask.completed_at.desc(),
                                            UserTask.id.desc())
    rows = session.execute(ordered.offset((page - 1) * per_page).limit(per_page))
    return [_view(task, instance) for task, instance in rows], total


def get_task(task_id: int) -> dict[str, Any]:
    task = _task(task_id)
    return _view(task, get_instance(task.instance_id))


def _task(task_id: int, fresh: bool = False) -> UserTask:
    task = db.session().get(UserTask, task_id, populate_existing=fresh)
    if task is None:
        raise BusinessError("审批任务不存在", 404)
    return task


def _refuse(task: UserTask, principal: Principal) -> None:
    """Why this caller may not take the task now, as the user should read it."""
    if task.status != OPEN:
        raise BusinessError(TASK_TAKEN, 409)
    if task.assignee and task.assignee != principal.login_name:
        raise BusinessError(f"该任务已被{task.assignee_name or task.assignee}认领", 409)
    if task.candidate_group not in principal.groups and task.assignee != principal.login_name:
        raise BusinessError(NOT_IN_GROUP, 403)


def _changed(statement: Any, params: dict[str, Any] | None = None) -> bool:
    result = db.session().execute(statement, params, execution_options={"synchronize_session": False})
    return cast(CursorResult[Any], result).rowcount == 1


def claim(principal: Principal, task_id: int) -> dict[str, Any]:
    return retrying(lambda: _claim_once(principal, task_id))


def _claim_once(principal: Principal, task_id: int) -> dict[str, Any]:
    session = db.session()
    task = _task(task_id, fresh=True)
    _refuse(task, principal)
    if task.assignee == principal.login_name:
        return get_task(task_id)  # claimed already: claiming again changes nothing
    lock_instance(task.instance_id)  # the instance before the task row, as every step does
    if not _changed(update(UserTask).where(UserTask.id == task_id, UserTask.status == OPEN,
                                           UserTask.assignee.is_(None))
                    .values(assignee=principal.login_name, assignee_name=principal.display_name)):
        session.rollback()
        _refuse(_task(task_id, fresh=True), principal)
        raise BusinessError(TASK_TAKEN, 409)
    instance = get_instance(task.instance_id, fresh=True)
    emit(session, "task.claimed", event_data(instance, task_id=task.id, task_name=task.name,
                                             handler=principal.display_name), subject=subject(instance))
    session.flush()
    commit_and_relay(session)
    session.refresh(task)
    return _view(task, instance)


def release(principal: Principal, task_id: int) -> dict[str, Any]:
    session = db.session()
    task = _task(task_id, fresh=True)
    if task.status != OPEN:
        raise BusinessError(TASK_TAKEN, 409)
    if not _changed(update(UserTask).where(UserTask.id == task_id, UserTask.status == OPEN,
                                           UserTask.assignee == principal.login_name)
                    .values(assignee=None, assignee_name=None)):
        session.rollback()
        raise BusinessError("只有认领人可以释放该任务", 403)
    session.commit()
    session.refresh(task)
    return get_task(task_id)


def reassign(principal: Principal, task_id: int, login_name: str, display_name: str) -> dict[str, Any]:
    """An admin hands an open task to another center user, who may then complete it."""
    return retrying(lambda: _reassign_once(principal, task_id, login_name, display_name))


def _reassign_once(principal: Principal, task_id: int, login_name: str, display_name: str) -> dict[str, Any]:
    session = db.session()
    task = _task(task_id, fresh=True)
    before = {"assignee": task.assignee, "assignee_name": task.assignee_name}
    lock_instance(task.instance_id)
    if not _changed(update(UserTask).where(UserTask.id == task_id, UserTask.status == OPEN)
                    .values(assignee=login_name, assignee_name=display_name or login_name)):
        session.rollback()
        raise BusinessError(TASK_TAKEN, 409)
    instance = get_instance(task.instance_id, fresh=True)
    audit.record(session, AuditRecord, principal.login_name, "reassign_task", f"task/{task.id}",
                 detail=f"{instance.title} {task.name}", before=before,
                 after={"assignee": login_name, "assignee_name": display_name or login_name})
    emit(session, "task.claimed", event_data(instance, task_id=task.id, task_name=task.name,
                                             handler=display_name or login_name), subject=subject(instance))
    session.flush()
    commit_and_relay(session)
    session.refresh(task)
    return _view(task, instance)


def complete(principal: Principal, task_id: int, decision: str, opinion: str) -> dict[str, Any]:
    """Complete a task once: of concurrent approvers exactly one wins, the others get 409."""
    opinion = opinion.strip()
    if decision in OPINION_REQUIRED and not opinion:
        message = OPINION_REQUIRED[decision]
        raise BusinessError(message, 422, {"json": {"opinion": [message]}})
    return retrying(lambda: _complete_once(principal, task_id, decision, opinion))


_TASKS = cast(Table, UserTask.__table__)
# The completion's conditional UPDATE, built once with bound values (make bench); an unclaimed task is
# claimed by the same statement, and its row count decides who completes it.
_COMPLETE = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task_id", type_=Integer()), _TASKS.c.status == OPEN,
           or_(_TASKS.c.assignee.is_(None), _TASKS.c.assignee == bindparam("v_assignee")))
    .values({name: bindparam(f"v_{name}", type_=_TASKS.c[name].type)
             for name in ("status", "assignee", "assignee_name", "decision", "opinion", "completed_at")})
)


def _complete_once(principal: Principal, task_id: int, decision: str, opinion: str) -> dict[str, Any]:
    session = db.session()
    task = _task(task_id, fresh=True)
    _refuse(task, principal)
    # The instance's lock is the transaction's first write: on SQLite it waits for the write lock
    # (busy_timeout) instead of failing a read-then-write upgrade; on PostgreSQL it orders this step
    # after (or before) an end or termination of the same instance instead of deadlocking with it.
    # Then the completion's row count decides who completes the task; an unclaimed task is claimed
    # by the same statement.
    lock_instance(task.instance_id)
    completed = {"status": COMPLETED, "assignee": principal.login_name, "assignee_name": principal.display_name,
                 "decision": decision, "opinion": opinion, "completed_at": db.utcnow()}
    won = _changed(_COMPLETE, {"task_id": task_id, **{f"v_{k}": v for k, v in completed.items()}})
    if not won:
        session.rollback()
        _refuse(_task(task_id, fresh=True), principal)
        raise BusinessError(TASK_TAKEN, 409)
    instance = get_instance(task.instance_id, fresh=True)
    workflow, definition = load(instance) if instance.status == RUNNING else (None, None)
    spiff_task = engine.find_task(workflow, task.task_guid) if workflow is not None else None
    if workflow is None or spiff_task is None or definition is None:
        session.rollback()
        raise BusinessError(TASK_TAKEN, 409)
    handler = principal.display_name
    # The approval with its opinion joins the audit chain in the completion's own transaction.
    audit.record(session, AuditRecord, principal.login_name, "complete_task", f"task/{task.id}",
                 detail=f"{instance.title} {task.name}：{DECISION_NAMES.get(decision, decision)}",
                 after={"decision": decision, "opinion": opinion, "instance_id": instance.id})
    emit(session, "task.completed", event_data(instance, task_id=task.id, task_name=task.name, handler=handler,
                                               decision=decision, opinion=opinion), subject=subject(instance))
    if decision == RETURN:
        # Back to the employer: the Spiff task is not run; resubmission resets to the first user task.
        instance.status = RETURNED
        cancel_open_tasks(instance.id, keep=task.id)
        emit(session, "process.returned", event_data(instance, task_name=task.name, handler=handler, opinion=opinion),
             subject=subject(instance))
        emit(session, "business.returned", owner_data(instance, approver=handler, opinion=opinion),
             subject=subject(instance))
    else:
        spiff_task.set_data(approved=decision == APPROVE, decision=decision, opinion=opinion, approver=handler)

        def advance() -> None:
            spiff_task.run()
            engine.advance(workflow)

        try:
            engine.run_engine(advance, workflow)
        except engine.ProcessError as exc:  # the definition is at fault: the task stays open, unchanged
            session.rollback()
            raise BusinessError(str(exc), 422) from exc
        after_step(instance, workflow, definition)
    session.flush()  # the instance's UPDATE ... WHERE version = :read_version (StaleDataError if lost)
    commit_and_relay(session)
    # The row as the winning UPDATE wrote it, without reading it back (make bench).
    for name, value in completed.items():
        set_committed_value(task, name, value)
    return _view(task, instance)
