"""What the definition, task and instance modules share: loading an instance on its definition version,
the data every event about an instance carries, and retrying a step that lost a race."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import Integer, Table, bindparam, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import defer
from sqlalchemy.orm.exc import StaleDataError

from hall_common import db
from hall_common.errors import BusinessError

from . import engine
from .models import ProcessDefinition, ProcessInstance

TASK_TAKEN = "该任务已办理，请刷新后查看"
INSTANCE_MISSING = "流程实例不存在"
SAVE_ATTEMPTS = 5
T = TypeVar("T")


def load(instance: ProcessInstance) -> tuple[Any, ProcessDefinition]:
    """The instance's workflow, restored on the definition version it started on."""
    # Without the BPMN file: a step runs on the stored spec (the designer and the path read the file).
    definition = db.session().get(ProcessDefinition, instance.definition_id,
                                  options=[defer(ProcessDefinition.bpmn_xml)])
    assert definition is not None
    return engine.load(instance.state, definition.spec_json), definition


def get_instance(instance_id: int, fresh: bool = False) -> ProcessInstance:
    instance = db.session().get(ProcessInstance, instance_id, populate_existing=fresh)
    if instance is None:
        raise BusinessError(INSTANCE_MISSING, 404)
    return instance


def lock_instance(instance_id: int) -> None:
    """Take the instance's row lock as the transaction's first write (a no-op UPDATE; SQLite takes its
    database write lock the same way). Every step that changes an instance and its tasks locks the
    instance first, then the task rows: with one order, PostgreSQL never deadlocks a task's completion
    against 结束流程 or a termination (which cancel the open tasks after locking the instance)."""
    db.session().execute(_LOCK, {"instance_id": instance_id})


# Built once with a bound id (every step runs it); on the table: no ORM objects are synchronised.
_INSTANCES = cast(Table, ProcessInstance.__table__)
_LOCK = (update(_INSTANCES).where(_INSTANCES.c.id == bindparam("instance_id", type_=Integer()))
         .values(seq=_INSTANCES.c.seq))


def _now_iso() -> str:
    return db.utcnow().isoformat(timespec="seconds") + "Z"


def event_data(instance: ProcessInstance, **extra: Any) -> dict[str, Any]:
    """The data of an event about the instance (keys and a small summary), numbered by its ``seq``.

    Call once per emitted event: it advances the instance's sequence (saved with the instance, under
    its optimistic version lock, so two steps never hand out the same number).
    """
    instance.seq = (instance.seq or 0) + 1
    return {
        "instance_id": instance.id,
        "seq": instance.seq,
        "business_type": instance.business_type,
        "business_id": instance.business_id,
        "title": instance.title,
        "permission": instance.permission,
        "employer_no": instance.employer_no,
        "employer_name": instance.employer_name,
        "initiator": instance.initiator,
        "initiator_login": instance.initiator_login,
        "at": _now_iso(),
        **extra,
    }


def owner_data(instance: ProcessInstance, **extra: Any) -> dict[str, Any]:
    """The data of an event to the business's owner (routed by ``owner``)."""
    instance.seq = (instance.seq or 0) + 1
    return {
        "business_type": instance.business_type,
        "business_id": instance.business_id,
        "owner": instance.owner,
        "employer_no": instance.employer_no,
        "instance_id": instance.id,
        "seq": instance.seq,
        **extra,
    }


def subject(instance: ProcessInstance) -> str:
    return f"{instance.business_type}/{instance.business_id}"


def retrying(step: Callable[[], T]) -> T:
    """Run a step that saves an instance; when another step of the same instance saved first (stale
    version) or the database was busy, roll back and run it again on the fresh state."""
    session = db.session()
    for attempt in range(SAVE_ATTEMPTS):
        try:
            return step()
        except StaleDataError:
            session.rollback()
        except OperationalError as exc:
            session.rollback()
            if not _is_busy(exc):
                raise
        except BaseException:
            session.rollback()
            raise
        time.sleep(0.05 * (attempt + 1))
    raise BusinessError("系统繁忙，请稍后再试", 503)


def _is_busy(exc: OperationalError) -> bool:
    """Lock conflicts a fresh transaction resolves (SQLite busy, a PostgreSQL deadlock victim or
    serialization failure); anything else is a real failure."""
    text = str(exc.orig).lower()
    return any(m in text for m in ("database is locked", "database is busy", "deadlock detected",
                                   "could not serialize"))
