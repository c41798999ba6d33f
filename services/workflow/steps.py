"""Running one step of the engine (a start, a task's completion, a resubmission) within bounds.

A step runs SpiffWorkflow until the process waits for a person or ends. What it may cost is bounded:
the automatic nodes it runs (a loop of gateways and script tasks would otherwise run for ever and grow
the task tree), its time, each evaluation's operations (bounds.py), and the process data it leaves
(JSON, at most ``MAX_DATA_BYTES`` per task). Beyond any bound the step is refused with a Chinese
message naming the node, and the caller stores nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.exceptions import SpiffWorkflowException

from . import bounds
from .bounds import LimitExceeded
from .sandbox import UnsafeCode

MAX_NODES_PER_STEP = 500
STEP_SECONDS = 2.0
MAX_DATA_BYTES = 64 * 1024


class ProcessError(RuntimeError):
    """The process cannot go on (a condition fails on the data, code the sandbox refuses, a bound is
    exceeded): the definition is at fault, not the caller. The message is Chinese and names the node."""


class _NodeLimit(LimitExceeded):
    def __init__(self, message: str, task: Any) -> None:
        super().__init__(message)
        self.task = task


def advance(workflow: Any) -> None:
    """``do_engine_steps`` with a budget of automatic nodes and of time."""
    ran = [0]
    deadline = time.monotonic() + STEP_SECONDS

    def count(task: Any) -> None:
        ran[0] += 1
        if ran[0] > MAX_NODES_PER_STEP:
            raise _NodeLimit(f"一次办理自动执行的节点超过{MAX_NODES_PER_STEP}个（流程中可能有不经人工任务的循环）",
                             task)
        if time.monotonic() > deadline:
            raise _NodeLimit(f"一次办理的自动执行超过{STEP_SECONDS:g}秒", task)

    workflow.do_engine_steps(will_complete_task=count)


def _root_cause(exc: BaseException) -> BaseException | None:
    """The error under SpiffWorkflow's wrappers (it keeps it as ``exception`` or as the context)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        if not isinstance(current, SpiffWorkflowException):
            return current
        current = getattr(current, "exception", None) or current.__cause__ or current.__context__
    return None


def _node(spec: Any) -> str:
    bpmn_id = getattr(spec, "bpmn_id", None)
    return f"节点「{getattr(spec, 'bpmn_name', None) or bpmn_id}」({bpmn_id})：" if bpmn_id else ""


def _refuse(node: str, detail: str) -> ProcessError:
    return ProcessError(f"流程定义有误，无法继续办理：{node}{detail}。请联系管理员在流程设计中修改")


def run_engine(step: Callable[[], Any], workflow: Any = None) -> None:
    """Run one step of the engine (``task.run`` then ``advance``, a start, a reset...), turning what
    SpiffWorkflow raises, and every bound exceeded, into a ProcessError the caller answers as a
    refusal, never a 500; then check the process data the step left (``workflow``)."""
    try:
        step()
    except _NodeLimit as exc:
        raise _refuse(_node(getattr(exc.task, "task_spec", None)), str(exc)) from exc
    except SpiffWorkflowException as exc:
        spec: Any = getattr(getattr(exc, "task", None), "task_spec", None) or getattr(exc, "task_spec", None)
        cause = _root_cause(exc)
        if isinstance(cause, UnsafeCode | LimitExceeded):
            detail = str(cause)
        elif isinstance(cause, NameError):
            detail = f"流程数据中没有变量 {getattr(cause, 'name', '') or cause}"
        elif isinstance(cause, ZeroDivisionError):
            detail = "除数为零"
        elif isinstance(cause, OverflowError):
            detail = "数值超出范围"
        else:
            detail = str(exc).splitlines()[0][:200]
        raise _refuse(_node(spec), detail) from exc
    except (LimitExceeded, RecursionError, MemoryError) as exc:  # outside any task (none known)
        raise _refuse("", str(exc) or "超出计算限制") from exc
    if workflow is not None:
        check_data(workflow)


def check_data(workflow: Any) -> None:
    """Every task's data, and the process's, must be JSON and at most MAX_DATA_BYTES: what a step stores
    is read back by every later step and shown to the center. The first task in the tree whose data is
    beyond that is the node that made it."""
    for task in [*workflow.get_tasks(), None]:
        data = workflow.data if task is None else task.data
        if not data:
            continue
        spec = None if task is None else task.task_spec
        # Counted first, stopping early: data nesting one list many times by reference would take the
        # JSON encoder (one C call) far longer than any limit.
        if bounds.weight(data, MAX_DATA_BYTES) > MAX_DATA_BYTES:
            raise _refuse(_node(spec), f"流程数据超过{MAX_DATA_BYTES // 1024}KB")
        try:
            size = len(json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8"))
        except (TypeError, ValueError, RecursionError) as exc:
            raise _refuse(_node(spec), "流程数据含有无法保存的值（只允许数字、字符串、真假值和列表）") from exc
        if size > MAX_DATA_BYTES:
            raise _refuse(_node(spec), f"流程数据超过{MAX_DATA_BYTES // 1024}KB")

