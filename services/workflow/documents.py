"""The deploy checks of a BPMN document as a whole, before SpiffWorkflow parses it: XML without DTDs in
UTF-8, bounded in size, depth and number of nodes, every process's code within the sandbox's
language, no multi-instance or loop tasks, and no call activity that calls itself, directly or
through other processes. Each refusal is a Chinese ``DefinitionError`` naming the element."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from .sandbox import UnsafeCode, check_expression, check_script

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
RESERVED_IDS = frozenset({"Start", "End", "Root"})
# Elements whose text SpiffWorkflow runs as Python: a script, or an expression (everything else).
SCRIPT_TAGS = frozenset({"script", "preScript", "postScript"})
CODE_TAGS = SCRIPT_TAGS | {"conditionExpression", "condition", "completionCondition", "loopCardinality",
                           "loopCondition", "timeDate", "timeDuration", "timeCycle", "messagePath",
                           "formalExpression", "expression", "retrievalExpression"}
# The hall's processes are a few dozen nodes; these bounds leave room and keep a parse, a start and
# every step's task tree small.
MAX_DEPTH = 40
MAX_NODES = 300
MAX_USER_TASKS = 50
MAX_CALL_DEPTH = 5
USER_TASK_TAGS = frozenset({"userTask", "manualTask"})
FLOW_NODE = re.compile(r"(Task|task|Event|Gateway|subProcess|callActivity|transaction)$")
LOOP_TAGS = frozenset({"multiInstanceLoopCharacteristics", "standardLoopCharacteristics"})
# Refuse DTDs and entities outright: a designer's file never needs them, an attacker's does.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, dtd_validation=False, load_dtd=False,
                              huge_tree=False, remove_comments=True)
_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ENCODING = re.compile(r"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([^"']*)["']""")


class DefinitionError(ValueError):
    """A definition refused at deploy: a Chinese message and the BPMN id of the element at fault."""

    def __init__(self, message: str, element: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.element = element


def parse_xml(bpmn_xml: str) -> Any:
    # Before the parser sees it: a DTD is where entity bombs and external entities live, and lxml's
    # own errors about them are English.
    if _DTD.search(bpmn_xml):
        raise DefinitionError("流程文件无法解析：不允许使用 DOCTYPE 或实体声明（ENTITY）")
    declared = _ENCODING.match(bpmn_xml)
    if declared and declared.group(1).strip().lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise DefinitionError(f"流程文件只接受 UTF-8 编码（文件声明为 {declared.group(1)[:20]}）")
    try:
        raw = bpmn_xml.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: no UTF-8 text at all
        raise DefinitionError("流程文件只接受 UTF-8 编码（含有无效字符）") from exc
    try:
        root = etree.fromstring(raw, _XML_PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = getattr(exc, "position", None) or (exc.lineno or 1, 0)
        if "depth" in str(exc).lower():
            raise DefinitionError(f"流程文件嵌套层级过深（最多{MAX_DEPTH}层）") from exc
        raise DefinitionError(f"流程文件无法解析：不是有效的 XML（第{line}行第{column}列附近）") from exc
    if root.getroottree().docinfo.doctype:
        raise DefinitionError("流程文件无法解析：不允许使用 DOCTYPE 或实体声明（ENTITY）")
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise DefinitionError("流程文件无法解析：根元素应为 BPMN 2.0 的 definitions")
    return root


def _label(element: Any) -> str:
    return f"「{element.get('name') or element.get('id')}」({element.get('id')})"


def _owner(element: Any, default: Any) -> Any:
    return next((e for e in element.iterancestors() if e.get("id")), default)


def check_document(root: Any) -> None:
    """Everything in the file, not only the process the business type names: a call activity reaches
    the others, and SpiffWorkflow parses them all."""
    _check_shape(root)
    processes = root.xpath("./bpmn:process", namespaces=NS)
    for process in processes:
        for element in process.xpath(".//*[@id]"):
            if element.get("id") in RESERVED_IDS:  # SpiffWorkflow's own task names: the parse would go wrong
                raise DefinitionError(f"元素标识 {element.get('id')} 为保留字，请改用其他标识", str(element.get("id")))
    _check_calls(root, processes)


def _check_shape(root: Any) -> None:
    nodes = users = 0
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = etree.QName(element).localname
        depth = sum(1 for _ in element.iterancestors())
        if depth >= MAX_DEPTH:
            owner = _owner(element, element)
            raise DefinitionError(f"流程文件嵌套层级过深（最多{MAX_DEPTH}层）：元素{_label(owner)}",
                                  str(owner.get("id") or ""))
        if element.get("id") and FLOW_NODE.search(tag) and etree.QName(element).namespace == BPMN_NS:
            nodes += 1
            users += tag in USER_TASK_TAGS
        if tag in LOOP_TAGS:
            owner = _owner(element, element)
            raise DefinitionError(f"任务{_label(owner)} 不允许设置多实例或循环", str(owner.get("id") or ""))
    if nodes > MAX_NODES:
        raise DefinitionError(f"流程节点过多（{nodes}个，最多{MAX_NODES}个）")
    if users > MAX_USER_TASKS:
        raise DefinitionError(f"人工任务过多（{users}个，最多{MAX_USER_TASKS}个）")


def _check_calls(root: Any, processes: list[Any]) -> None:
    """A call activity's process calling back into its caller would start processes without end; a
    chain of calls is bounded too."""
    calls: dict[str, list[tuple[str, Any]]] = {}
    for process in processes:
        calls[str(process.get("id"))] = [(str(c.get("calledElement") or ""), c)
                                         for c in process.xpath(".//bpmn:callActivity", namespaces=NS)]
    depths: dict[str, int] = {}  # each process walked once, however many call it

    def depth(process_id: str, trail: list[str]) -> int:
        if process_id in depths:
            return depths[process_id]
        deepest = 0
        for called, activity in calls.get(process_id, []):
            path = [*trail, process_id, called]
            if called in path[:-1]:
                cycle = " → ".join(path[path.index(called):])
                raise DefinitionError(f"调用活动{_label(activity)} 形成循环调用：{cycle}", str(activity.get("id")))
            below = 1 + depth(called, [*trail, process_id])
            if below > MAX_CALL_DEPTH:
                raise DefinitionError(f"调用活动{_label(activity)} 嵌套调用超过{MAX_CALL_DEPTH}层",
                                      str(activity.get("id")))
            deepest = max(deepest, below)
        depths[process_id] = deepest
        return deepest

    for process_id in calls:
        depth(process_id, [])


def check_code(root: Any) -> None:
    """Every condition and script of the document within the language sandbox.py allows, refused with
    the element that holds it (the sequence flow, the task) before anything runs."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = etree.QName(element).localname
        text = (element.text or "").strip()
        if tag not in CODE_TAGS or not text:
            continue
        owner = _owner(element, root)
        try:
            (check_script if tag in SCRIPT_TAGS else check_expression)(text)
        except UnsafeCode as exc:
            raise DefinitionError(f"元素{_label(owner)} 的{'脚本' if tag in SCRIPT_TAGS else '条件'}不允许：{exc}",
                                  str(owner.get("id") or "")) from exc
