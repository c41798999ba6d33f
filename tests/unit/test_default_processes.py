"""The default process of every business type, run on the real SpiffWorkflow through the engine.

Every path of every shipped BPMN file: approve, reject, the chief's branch of the base adjustment
both ways and on both sides of its threshold, and the processes without a user task that complete at
once. Then the conventions the deploy check enforces (a default candidate group on every user task, an
outcome on every end event) and the diagram layout bpmn-js needs to draw each file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache

import pytest
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from services.workflow import engine
from services.workflow.services import PROCESS_DIR

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
TITLES = {
    "employer_change": "单位信息变更",
    "member_change": "缴存人信息变更",
    "base_adjustment": "基数调整",
    "supplementary_payment": "补缴",
    "zero_balance_closure": "零余额销户",
    "member_registration": "缴存人登记",
    "member_seal": "封存",
    "member_unseal": "启封",
}
SINGLE_REVIEW = ["employer_change", "member_change", "supplementary_payment", "zero_balance_closure"]
NO_TASK = ["member_registration", "member_seal", "member_unseal"]
DEFAULT_GROUPS = {"handler": "经办", "reviewer": "复核", "chief": "负责人"}
FLOW_NODES = ("startEvent", "endEvent", "userTask", "scriptTask", "task", "exclusiveGateway",
              "parallelGateway", "inclusiveGateway", "manualTask", "serviceTask")
HANDLER, CHIEF = ("Task_handler_review", "handler"), ("Task_chief_approval", "chief")


@cache
def bpmn_xml(key: str) -> str:
    return (PROCESS_DIR / f"{key}.bpmn").read_text(encoding="utf-8")


@cache
def spec_json(key: str) -> str:
    return engine.parse(bpmn_xml(key), key).spec_json


@dataclass
class Run:
    visited: list[tuple[str, str]]  # (bpmn id, candidate group) of every user task met, in order
    end_event: str
    outcome: str
    data: dict[str, object]


def run(key: str, decisions: list[bool], variables: dict[str, object] | None = None, xml: str | None = None) -> Run:
    """Start ``key``'s process and decide its user tasks in turn, saved and reloaded around every step
    as the workflow service does; the process must end exactly when the decisions run out."""
    spec = engine.parse(xml, key).spec_json if xml is not None else spec_json(key)
    workflow = engine.start(spec, dict(variables or {}))
    visited: list[tuple[str, str]] = []
    for approved in decisions:
        workflow = engine.load(engine.dump(workflow), spec)
        assert not workflow.is_completed(), f"{key} ended before the decisions {decisions} were all used"
        [task] = engine.ready_user_tasks(workflow)
        visited.append((task.task_spec.bpmn_id, engine.candidate_group(task)))
        task.set_data(approved=approved, decision="approve" if approved else "reject",
                      opinion="同意" if approved else "材料不全", approver="中心审核员李明")
        task.run()
        workflow.do_engine_steps()
    workflow = engine.load(engine.dump(workflow), spec)
    assert workflow.is_completed(), f"{key} still waits at {engine.ready_user_tasks(workflow)}"
    assert engine.ready_user_tasks(workflow) == []
    [end] = reached_ends(workflow)
    outcome = end.task_spec.extensions["properties"]["outcome"]
    return Run(visited, end.task_spec.bpmn_id, outcome, dict(workflow.data))


def reached_ends(workflow: BpmnWorkflow) -> list[Task]:
    ends = {e.get("id") for e in ET.fromstring(bpmn_xml(workflow.spec.name)).iterfind(".//bpmn:endEvent", NS)}
    return [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id in ends]


# -- every path ------------------------------------------------------------------------------------

def test_every_business_type_ships_its_process_named_in_chinese() -> None:
    assert {p.stem for p in PROCESS_DIR.glob("*.bpmn")} == set(TITLES)
    for key, title in TITLES.items():
        parsed = engine.parse(bpmn_xml(key), key)
        assert (parsed.process_key, parsed.name) == (key, title)


@pytest.mark.parametrize("key", SINGLE_REVIEW)
@pytest.mark.parametrize(("approved", "outcome"), [(True, "approved"), (False, "rejected")])
def test_a_single_review_ends_with_the_handlers_decision(key: str, approved: bool, outcome: str) -> None:
    result = run(key, [approved])
    assert result.visited == [HANDLER]
    assert result.outcome == outcome
    assert result.data["approved"] is approved and result.data["approver"] == "中心审核员李明"


@pytest.mark.parametrize("key", NO_TASK)
def test_a_business_confirmed_without_approval_completes_at_once_approved(key: str) -> None:
    workflow = engine.start(spec_json(key), {})
    assert workflow.is_completed()
    [end] = reached_ends(workflow)
    assert end.task_spec.extensions["properties"]["outcome"] == "approved"
    assert run(key, []).visited == []


@pytest.mark.parametrize(("max_raise_pct", "decisions", "visited", "outcome"), [
    (51, [True, True], [HANDLER, CHIEF], "approved"),     # above the threshold: the chief decides too
    (51, [True, False], [HANDLER, CHIEF], "rejected"),    # ... and may refuse what the handler passed
    (300, [True, True], [HANDLER, CHIEF], "approved"),
    (50, [True], [HANDLER], "approved"),                  # equal to the threshold: no chief
    (49, [True], [HANDLER], "approved"),                  # below
    (0, [True], [HANDLER], "approved"),                   # no raise at all
    (80, [False], [HANDLER], "rejected"),                 # refused by the handler: never reaches the chief
    (0, [False], [HANDLER], "rejected"),
])
def test_base_adjustment_asks_the_chief_only_above_the_threshold(
    max_raise_pct: int, decisions: list[bool], visited: list[tuple[str, str]], outcome: str
) -> None:
    result = run("base_adjustment", decisions, {"max_raise_pct": max_raise_pct})
    assert result.visited == visited
    assert result.outcome == outcome
    assert result.data["chief_threshold_pct"] == 50  # set by the script task 设置审批阈值
    assert result.end_event == ("EndEvent_chief_" if CHIEF in visited else "EndEvent_") + outcome


def test_the_base_adjustment_threshold_lives_in_the_process() -> None:
    """A center changing the script in the designer moves the chief's branch without code."""
    original = bpmn_xml("base_adjustment")
    assert original.count("chief_threshold_pct = 50") == 1
    raised = original.replace("chief_threshold_pct = 50", "chief_threshold_pct = 80")
    assert run("base_adjustment", [True], {"max_raise_pct": 60}, xml=raised).visited == [HANDLER]
    assert run("base_adjustment", [True, True], {"max_raise_pct": 81}, xml=raised).visited == [HANDLER, CHIEF]
    # Under the shipped threshold the same 60% does reach the chief.
    assert run("base_adjustment", [True, True], {"max_raise_pct": 60}).visited == [HANDLER, CHIEF]


# -- conventions -----------------------------------------------------------------------------------

def _process(key: str) -> ET.Element:
    process = ET.fromstring(bpmn_xml(key)).find("bpmn:process", NS)
    assert process is not None and process.get("id") == key
    return process


def _properties(element: ET.Element) -> dict[str, str]:
    found = element.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    return {p.get("name", ""): p.get("value", "") for p in found}


@pytest.mark.parametrize("key", sorted(TITLES))
def test_every_file_follows_the_deploy_conventions(key: str) -> None:
    # Valid against the BPMN 2.0 and spiffworkflow schemas, not only accepted by the lenient parser.
    validating = SpiffBpmnParser(validator=VALIDATOR)
    validating.add_bpmn_str(bpmn_xml(key).encode("utf-8"))
    spec = validating.get_spec(key)

    process = _process(key)
    assert _properties(process) == {"initiator_may_end": "false"}
    lanes = {ref.text: lane.get("name") for lane in process.iterfind("bpmn:laneSet/bpmn:lane", NS)
             for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
    user_tasks = process.findall("bpmn:userTask", NS)
    for task in user_tasks:
        group = _properties(task).get("candidate_group")
        assert group in DEFAULT_GROUPS, f"{key}: {task.get('id')} has candidate group {group!r}"
        # The lane says the same as the property, so the lane fallback could never disagree.
        assert lanes[task.get("id")] == DEFAULT_GROUPS[group]
        assert spec.task_specs[task.get("id")].extensions["properties"]["candidate_group"] == group
    if key in NO_TASK:
        assert user_tasks == []
    ends = process.findall("bpmn:endEvent", NS)
    assert ends
    for end in ends:
        assert _properties(end).get("outcome") in ("approved", "rejected"), f"{key}: {end.get('id')}"
    # Every exclusive gateway has a default flow, so no data can leave a process stuck at one.
    for gateway in process.iterfind("bpmn:exclusiveGateway", NS):
        assert gateway.get("default"), f"{key}: {gateway.get('id')} has no default flow"


@pytest.mark.parametrize("key", sorted(TITLES))
def test_the_conditions_of_a_gateway_never_hold_together(key: str) -> None:
    """SpiffWorkflow tries a gateway's conditions top-down by the targets' position on the diagram and
    takes the first that holds: overlapping conditions would let the layout decide the path."""
    environment = TaskDataEnvironment()
    process = _process(key)
    samples = [{"approved": approved, "max_raise_pct": pct, "chief_threshold_pct": 50}
               for approved in (True, False) for pct in (0, 49, 50, 51, 300)]
    for gateway in process.iterfind("bpmn:exclusiveGateway", NS):
        conditions = [c.text or "" for f in process.iterfind("bpmn:sequenceFlow", NS)
                      if f.get("sourceRef") == gateway.get("id") for c in f.iterfind("bpmn:conditionExpression", NS)]
        assert conditions, f"{key}: {gateway.get('id')} decides nothing"
        for data in samples:
            holding = [c for c in conditions if environment.evaluate(c, dict(data))]
            assert len(holding) <= 1, f"{key}: {holding} all hold for {data}"


# -- diagram layout --------------------------------------------------------------------------------

Box = tuple[float, float, float, float]


def _bounds(shape: ET.Element) -> Box:
    b = shape.find("dc:Bounds", NS)
    assert b is not None
    x, y, w, h = (float(b.get(k, "nan")) for k in ("x", "y", "width", "height"))
    return x, y, x + w, y + h


def _inside(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def _on_border(point: tuple[float, float], box: Box) -> bool:
    x, y = point
    within = box[0] - 1 <= x <= box[2] + 1 and box[1] - 1 <= y <= box[3] + 1
    return within and min(abs(x - box[0]), abs(x - box[2]), abs(y - box[1]), abs(y - box[3])) <= 1


@pytest.mark.parametrize("key", sorted(TITLES))
def test_every_file_carries_the_layout_bpmn_js_draws(key: str) -> None:
    root = ET.fromstring(bpmn_xml(key))
    process = _process(key)
    [plane] = root.findall("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    collaboration = root.find("bpmn:collaboration", NS)
    assert collaboration is not None and plane.get("bpmnElement") == collaboration.get("id")
    [participant] = collaboration.findall("bpmn:participant", NS)
    assert participant.get("name") == "住房公积金中心" and participant.get("processRef") == key

    shapes = {s.get("bpmnElement"): s for s in plane.iterfind("bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in plane.iterfind("bpmndi:BPMNEdge", NS)}
    nodes = {n.get("id"): n for tag in FLOW_NODES for n in process.iterfind(f"bpmn:{tag}", NS)}
    flows = {f.get("id"): f for f in process.iterfind("bpmn:sequenceFlow", NS)}
    lanes = {lane.get("id"): lane for lane in process.iterfind("bpmn:laneSet/bpmn:lane", NS)}
    assert set(shapes) == set(nodes) | set(lanes) | {participant.get("id")}
    assert set(edges) == set(flows)

    pool = _bounds(shapes[participant.get("id")])
    lane_of = {ref.text: lane_id for lane_id, lane in lanes.items() for ref in lane.iterfind("bpmn:flowNodeRef", NS)}
    if lanes:  # a lane for every node, nodes drawn inside their lane
        assert set(lane_of) == set(nodes)
    for node_id, node in nodes.items():
        box = _bounds(shapes[node_id])
        assert _inside(box, _bounds(shapes[lane_of[node_id]]) if lanes else pool), f"{key}: {node_id} outside"
        label = shapes[node_id].find("bpmndi:BPMNLabel", NS)
        if node.get("name") and not node.tag.endswith("Task"):  # tasks show their name inside the box
            assert label is not None, f"{key}: {node_id} has a name but no label position"
            assert _inside(_bounds(label), pool), f"{key}: label of {node_id} outside the pool"
    for flow_id, flow in flows.items():
        waypoints = edges[flow_id].iterfind("di:waypoint", NS)
        points = [(float(p.get("x", "nan")), float(p.get("y", "nan"))) for p in waypoints]
        assert len(points) >= 2
        # The edge starts on its source's border and ends on its target's.
        assert _on_border(points[0], _bounds(shapes[flow.get("sourceRef")])), f"{key}: {flow_id} start"
        assert _on_border(points[-1], _bounds(shapes[flow.get("targetRef")])), f"{key}: {flow_id} end"
        # Orthogonal segments only: the layout stays readable when the designer moves things.
        assert all(a[0] == b[0] or a[1] == b[1] for a, b in zip(points, points[1:], strict=False))
        if flow.get("name"):
            assert edges[flow_id].find("bpmndi:BPMNLabel", NS) is not None, f"{key}: {flow_id} label"
