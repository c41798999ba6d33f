"""SpiffWorkflow behind one small interface: check and parse a definition, start, save, load, reset,
find tasks, and read the path an instance took.

Instance state is stored without the process spec (about 4 KB of every save); the spec lives once
on the definition version and is put back when the instance is loaded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .documents import NS, check_code, check_document, parse_xml
from .documents import DefinitionError as DefinitionError
from .sandbox import SCRIPT_ENGINE
from .steps import ProcessError as ProcessError
from .steps import advance as advance
from .steps import run_engine as run_engine

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
SERIALIZER_VERSION = SERIALIZER.VERSION
_SPEC_KEYS = ("spec", "subprocess_specs")
OUTCOMES = ("approved", "rejected")
# What a completed task writes into the process data; a reset clears them so gateways decide afresh.
DECISION_KEYS = ("approved", "decision", "opinion", "approver")
# A task the process has actually reached (not merely predicted or cancelled).
REACHED = TaskState.WAITING | TaskState.READY | TaskState.STARTED | TaskState.COMPLETED | TaskState.ERROR
_parse_xml = parse_xml
_check_code = check_code


@dataclass(frozen=True)
class ParsedDefinition:
    process_key: str
    name: str
    spec_json: str
    checksum: str
    task_groups: dict[str, str] = field(default_factory=dict)
    end_outcomes: dict[str, str] = field(default_factory=dict)
    initiator_may_end: bool = False


def _label(spec: Any) -> str:
    return f"「{spec.bpmn_name or spec.bpmn_id}」({spec.bpmn_id})"


def _properties(element: Any) -> dict[str, str]:
    """The spiffworkflow:property values directly under an element's extensionElements."""
    found = element.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS)
    return {str(p.get("name")): str(p.get("value") or "") for p in found}


def parse(bpmn_xml: str, process_key: str, groups: Iterable[Mapping[str, str]] | None = None) -> ParsedDefinition:
    """Check a definition the way deploy must and parse it with SpiffWorkflow.

    ``groups``: the center's candidate groups ({code, name}); None trusts any group code (the shipped
    defaults, deployed before anyone logs in), while still requiring every user task to name one.
    """
    root = _parse_xml(bpmn_xml)
    processes = root.xpath("./bpmn:process", namespaces=NS)
    if not processes:
        raise DefinitionError("流程文件无法解析：文件中没有流程（process）")
    process = next((p for p in processes if p.get("id") == process_key), None)
    if process is None:
        found = str(processes[0].get("id") or "")
        raise DefinitionError(f"流程标识 {found} 与业务类型 {process_key} 不一致", found)
    check_document(root)
    _check_code(root)
    parser = SpiffBpmnParser()
    try:
        parser.add_bpmn_xml(root)
        spec = parser.get_spec(process_key)
        subprocesses = parser.get_subprocess_specs(process_key)
    except Exception as exc:  # the parser raises many types; all mean the same to a designer
        raise DefinitionError(f"流程文件无法解析：{exc}", str(getattr(exc, "id", "") or "")) from exc
    task_groups = _task_groups([spec, *subprocesses.values()], groups)
    end_outcomes: dict[str, str] = {}
    for task_spec in spec.task_specs.values():
        if type(task_spec).__name__ == "EndEvent":
            outcome = task_spec.extensions.get("properties", {}).get("outcome")
            if outcome not in OUTCOMES:
                raise DefinitionError(
                    f"结束事件{_label(task_spec)} 未设置审批结果（outcome 为 approved 或 rejected）", task_spec.bpmn_id)
            end_outcomes[task_spec.bpmn_id] = outcome
    may_end = _properties(process).get("initiator_may_end", "false").strip().lower()
    if may_end not in ("true", "false"):
        raise DefinitionError("流程属性 initiator_may_end 应为 true 或 false", process_key)
    try:
        workflow = BpmnWorkflow(spec, subprocesses, script_engine=SCRIPT_ENGINE)
        full = json.loads(SERIALIZER.serialize_json(workflow))
    except Exception as exc:  # a spec SpiffWorkflow cannot run (e.g. a start event going nowhere)
        raise DefinitionError(f"流程文件无法解析：{exc}") from exc
    return ParsedDefinition(
        process_key=process_key,
        name=(spec.description or process_key)[:100],
        spec_json=json.dumps({key: full[key] for key in _SPEC_KEYS}),
        checksum=hashlib.sha256(bpmn_xml.encode("utf-8")).hexdigest(),
        task_groups=task_groups,
        end_outcomes=end_outcomes,
        initiator_may_end=may_end == "true",
    )


def substance(spec_json: str, task_groups: Mapping[str, str] | None, end_outcomes: Mapping[str, str] | None,
              initiator_may_end: bool) -> str:
    """A digest of what a definition does, not of its text: the parsed specs and what deploy read
    from the file. The designer's Modeler re-serialises a file it merely opened (attribute order,
    whitespace, the diagram's layout), which changes the text and nothing here."""
    canonical = {"specs": json.loads(spec_json), "task_groups": dict(task_groups or {}),
                 "end_outcomes": dict(end_outcomes or {}), "initiator_may_end": bool(initiator_may_end)}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def _task_groups(specs: list[Any], groups: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """Every user task's candidate group code, in the process and in every process it calls: its
    candidate_group property, else its lane (by group code or name)."""
    known = {g["code"]: g for g in groups} if groups is not None else None
    by_name = {g["name"]: code for code, g in known.items()} if known is not None else {}
    result: dict[str, str] = {}
    for task_spec in (t for spec in specs for t in spec.task_specs.values()):
        if not getattr(task_spec, "manual", False):
            continue
        code = str(task_spec.extensions.get("properties", {}).get("candidate_group") or "").strip()
        lane = str(task_spec.lane or "").strip()
        if not code and lane:
            code = lane if known is None or lane in known else by_name.get(lane, lane)
        if not code:
            raise DefinitionError(f"任务{_label(task_spec)} 未指定候选组", task_spec.bpmn_id)
        if known is not None and code not in known:
            raise DefinitionError(f"任务{_label(task_spec)} 的候选组 {code} 未定义", task_spec.bpmn_id)
        result[task_spec.bpmn_id] = code
    return result


def _specs(spec_json: str) -> dict[str, Any]:
    return dict(json.loads(spec_json))


@lru_cache(maxsize=32)
def _spec_objects(spec_json: str) -> tuple[Any, dict[str, Any]]:
    """A definition version's process and subprocess specs, restored once per process: a deployed
    version never changes, and Spiff's specs are read-only while instances run on them."""
    specs = _specs(spec_json)
    return (SERIALIZER.from_dict(specs["spec"]),
            {name: SERIALIZER.from_dict(sub) for name, sub in specs["subprocess_specs"].items()})


def start(spec_json: str, variables: dict[str, Any]) -> BpmnWorkflow:
    """A new instance whose gateways see ``variables`` (set on the root task, every task inherits
    them), run to its first wait under the same bounds as every later step (ProcessError beyond)."""
    spec, subprocesses = _spec_objects(spec_json)
    workflow = BpmnWorkflow(spec, dict(subprocesses), script_engine=SCRIPT_ENGINE)
    workflow.task_tree.data.update(variables)
    run_engine(lambda: advance(workflow), workflow)
    return workflow


def dump(workflow: BpmnWorkflow) -> str:
    """The instance's state as stored: the serializer's dictionary without the specs, JSON once (the
    serializer's own JSON, parsed back to drop the specs, cost half again; make bench)."""
    state = SERIALIZER.to_dict(workflow)
    state[SERIALIZER.VERSION_KEY] = SERIALIZER_VERSION
    for key in _SPEC_KEYS:
        state.pop(key, None)
    return json.dumps(state, ensure_ascii=False, separators=(",", ":"))


def load(state: str, spec_json: str) -> BpmnWorkflow:
    full = json.loads(state)
    full.update(_specs(spec_json))
    SERIALIZER.migrate(full)  # what deserialize_json does before from_dict (pops the version)
    workflow: BpmnWorkflow = SERIALIZER.from_dict(full)
    workflow.script_engine = SCRIPT_ENGINE  # never SpiffWorkflow's default, which runs any Python
    return workflow


def ready_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return list(workflow.get_tasks(state=TaskState.READY, manual=True))


def find_task(workflow: BpmnWorkflow, guid: str) -> Task | None:
    for task in ready_user_tasks(workflow):
        if str(task.id) == guid:
            return task
    return None


def candidate_group(task: Task, task_groups: Mapping[str, str] | None = None) -> str:
    """The group resolved at deploy; a definition deployed before groups existed falls back to the spec."""
    if task_groups and task.task_spec.bpmn_id in task_groups:
        return str(task_groups[task.task_spec.bpmn_id])
    properties = task.task_spec.extensions.get("properties", {})
    return str(properties.get("candidate_group") or task.task_spec.lane or "handler")


def first_user_task(workflow: BpmnWorkflow) -> Task | None:
    """The first user task the process reached (depth first from the root: the one nearest the start)."""
    for task in workflow.get_tasks(state=REACHED, manual=True):
        return task
    return None


def reset_to_first_user_task(workflow: BpmnWorkflow, variables: Mapping[str, Any]) -> None:
    """Resubmission: back to the first user task with the corrected business's variables, so every
    gateway after it decides again. The task keeps its Spiff id (SpiffWorkflow's reset_from_task_id
    drops the task's descendants and makes it runnable again)."""
    task = first_user_task(workflow)
    if task is None:
        raise DefinitionError("流程中没有可退回的审批任务")
    # The reset task takes its data from its parent (and merges the parent's over its own when it
    # becomes ready), so the corrected variables go onto the parent.
    for key in DECISION_KEYS:
        task.parent.data.pop(key, None)
    task.parent.data.update(variables)
    workflow.task_tree.data.update(variables)

    def reset() -> None:
        workflow.reset_from_task_id(task.id)
        advance(workflow)

    run_engine(reset, workflow)


def reached_end(workflow: BpmnWorkflow, end_outcomes: Mapping[str, str]) -> tuple[str, str] | None:
    """The end event the process reached last and its outcome."""
    ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id in end_outcomes]
    if not ends:
        return None
    last = max(ends, key=lambda t: t.last_state_change)
    return last.task_spec.bpmn_id, str(end_outcomes[last.task_spec.bpmn_id])


@lru_cache(maxsize=64)
def _flows(bpmn_xml: str, process_key: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """(source, target) -> sequence flow ids of the process, read from the definition's XML."""
    root = _parse_xml(bpmn_xml)
    flows: dict[tuple[str, str], tuple[str, ...]] = {}
    for flow in root.xpath("./bpmn:process[@id=$key]//bpmn:sequenceFlow", namespaces=NS, key=process_key):
        key = (str(flow.get("sourceRef")), str(flow.get("targetRef")))
        flows[key] = (*flows.get(key, ()), str(flow.get("id")))
    return flows


def _reached_successors(task: Task) -> list[Task]:
    """The BPMN tasks reached right after ``task``, looking through SpiffWorkflow's internal tasks."""
    found: list[Task] = []
    for child in task.children:
        if not child.has_state(REACHED):
            continue
        if child.task_spec.bpmn_id:
            found.append(child)
        else:
            found.extend(_reached_successors(child))
    return found


@dataclass(frozen=True)
class Path:
    completed: list[str]
    taken_flows: list[str]
    current: list[str]


def path(workflow: BpmnWorkflow, bpmn_xml: str, process_key: str) -> Path:
    """Completed nodes, the sequence flows actually taken (inferred from the task tree: a completed
    node and a reached successor joined by a flow of the diagram), and the waiting user tasks."""
    flows = _flows(bpmn_xml, process_key)
    completed: list[str] = []
    taken: list[str] = []
    for task in workflow.get_tasks(state=TaskState.COMPLETED):
        source = task.task_spec.bpmn_id
        if not source:
            continue
        if source not in completed:
            completed.append(source)
        for successor in _reached_successors(task):
            for flow_id in flows.get((source, successor.task_spec.bpmn_id), ()):
                if flow_id not in taken:
                    taken.append(flow_id)
    current = list(dict.fromkeys(t.task_spec.bpmn_id for t in ready_user_tasks(workflow)))
    return Path(completed, taken, current)


@lru_cache(maxsize=64)
def node_names(bpmn_xml: str, process_key: str) -> tuple[tuple[str, str], ...]:
    """(bpmn id, name) of the process's start and end events, start events first, for the steps table."""
    root = _parse_xml(bpmn_xml)
    found = []
    for tag in ("startEvent", "endEvent"):
        for node in root.xpath(f"./bpmn:process[@id=$key]/bpmn:{tag}", namespaces=NS, key=process_key):
            found.append((str(node.get("id")), str(node.get("name") or "")))
    return tuple(found)
