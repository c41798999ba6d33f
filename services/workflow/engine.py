"""SpiffWorkflow behind one small interface: parse, start, save, load, find tasks.

Instance state is stored without the process spec (about 4 KB of every save); the spec lives once
on the definition version and is put back when the instance is loaded.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
SERIALIZER_VERSION = SERIALIZER.VERSION
_SPEC_KEYS = ("spec", "subprocess_specs")


class DefinitionError(ValueError):
    pass


@dataclass(frozen=True)
class ParsedDefinition:
    process_key: str
    name: str
    spec_json: str
    checksum: str


def parse(bpmn_xml: str, process_key: str) -> ParsedDefinition:
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_str(bpmn_xml.encode("utf-8"))
        spec = parser.get_spec(process_key)
        subprocesses = parser.get_subprocess_specs(process_key)
    except Exception as exc:  # the parser raises many types; all mean the same to a designer
        raise DefinitionError(f"流程定义无效：{exc}") from exc
    workflow = BpmnWorkflow(spec, subprocesses)
    full = json.loads(SERIALIZER.serialize_json(workflow))
    spec_json = json.dumps({key: full[key] for key in _SPEC_KEYS})
    return ParsedDefinition(
        process_key=process_key,
        name=spec.description or process_key,
        spec_json=spec_json,
        checksum=hashlib.sha256(bpmn_xml.encode("utf-8")).hexdigest(),
    )


def _specs(spec_json: str) -> dict[str, Any]:
    return dict(json.loads(spec_json))


def start(spec_json: str, variables: dict[str, Any]) -> BpmnWorkflow:
    """A new instance whose gateways see ``variables`` (set on the root task, every task inherits them)."""
    specs = _specs(spec_json)
    spec = SERIALIZER.from_dict(specs["spec"])
    subprocesses = {name: SERIALIZER.from_dict(sub) for name, sub in specs["subprocess_specs"].items()}
    workflow = BpmnWorkflow(spec, subprocesses)
    workflow.task_tree.data.update(variables)
    workflow.do_engine_steps()
    return workflow


def dump(workflow: BpmnWorkflow) -> str:
    state = json.loads(SERIALIZER.serialize_json(workflow))
    for key in _SPEC_KEYS:
        state.pop(key, None)
    return json.dumps(state, ensure_ascii=False, separators=(",", ":"))


def load(state: str, spec_json: str) -> BpmnWorkflow:
    full = json.loads(state)
    full.update(_specs(spec_json))
    workflow: BpmnWorkflow = SERIALIZER.deserialize_json(json.dumps(full))
    return workflow


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return list(workflow.get_tasks(state=TaskState.READY, manual=True))


def find_task(workflow: BpmnWorkflow, guid: str) -> Task | None:
    for task in ready_user_tasks(workflow):
        if str(task.id) == guid:
            return task
    return None


def candidate_group(task: Task) -> str:
    properties = task.task_spec.extensions.get("properties", {})
    return str(properties.get("candidate_group") or task.task_spec.lane or "center")


def completed_nodes(workflow: BpmnWorkflow) -> list[str]:
    return [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id]
