"""The path an instance took, for the diagram viewer: completed nodes, taken sequence flows, the
current node, and the table of every step (submission, each task activation, resubmissions, the end)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from hall_common import db
from hall_common.errors import BusinessError
from hall_common.security import Principal

from . import engine
from .instances import may_end
from .models import COMPLETED, RUNNING, InstanceStep, ProcessInstance, UserTask
from .store import INSTANCE_MISSING, get_instance, load

STEP_NAMES = {"resubmit": "重新提交", "end": "结束流程", "terminate": "终止流程"}


def _step(node: str, name: str, handler: str, decision: str | None, opinion: str | None,
          started_at: datetime | None, ended_at: datetime | None) -> dict[str, Any]:
    return {"node": node, "name": name, "handler": handler, "decision": decision, "opinion": opinion,
            "started_at": started_at, "ended_at": ended_at}


def instance_path(principal: Principal, instance_id: int) -> dict[str, Any]:
    instance = get_instance(instance_id)
    if principal.role != "center" and principal.employer_no != instance.employer_no:
        raise BusinessError(INSTANCE_MISSING, 404)
    workflow, definition = load(instance)
    key = definition.process_key
    taken = engine.path(workflow, definition.bpmn_xml, key)
    return {
        "instance": instance,
        "bpmn_xml": definition.bpmn_xml,
        "version": definition.version,
        "completed": taken.completed,
        "taken_flows": taken.taken_flows,
        # Only a running process waits somewhere; a returned one waits for the employer.
        "current": taken.current if instance.status == RUNNING else [],
        "steps": steps(instance, workflow, definition.bpmn_xml, key, definition.end_outcomes or {}),
        "can_end": may_end(principal, instance, definition),
    }


def steps(instance: ProcessInstance, workflow: Any, bpmn_xml: str, key: str,
          end_outcomes: dict[str, str]) -> list[dict[str, Any]]:
    session = db.session()
    names = engine.node_names(bpmn_xml, key)
    start = next(((i, n) for i, n in names if i not in end_outcomes), ("", ""))
    timeline: list[tuple[datetime, int, dict[str, Any]]] = [
        (instance.started_at, 0, _step(start[0], "提交", instance.initiator, "submit", None,
                                       instance.started_at, instance.started_at)),
    ]
    tasks = session.scalars(select(UserTask).where(UserTask.instance_id == instance.id).order_by(UserTask.id))
    for task in tasks:
        timeline.append((task.created_at, 2, _step(task.bpmn_id, task.name, task.assignee_name or "",
                                                   task.decision, task.opinion, task.created_at, task.completed_at)))
    others = session.scalars(select(InstanceStep).where(InstanceStep.instance_id == instance.id)
                             .order_by(InstanceStep.id))
    for other in others:
        order = 1 if other.kind == "resubmit" else 3  # a resubmission before the task it opens
        name = STEP_NAMES.get(other.kind, other.kind)
        timeline.append((other.at, order, _step("", name, other.actor, other.kind, other.reason, other.at, other.at)))
    if instance.status == COMPLETED and instance.ended_at is not None:
        reached = engine.reached_end(workflow, end_outcomes)
        node = reached[0] if reached else ""
        name = dict(names).get(node) or "结束"
        timeline.append((instance.ended_at, 4, _step(node, name, "", instance.outcome, None,
                                                     instance.ended_at, instance.ended_at)))
    timeline.sort(key=lambda item: (item[0], item[1]))
    return [step for _, _, step in timeline]
