"""The only Python a process definition may run: conditions and small scripts on process data.

SpiffWorkflow evaluates every condition and script with ``eval``/``exec``, and center admins write
them in the designer. Unchecked, ``__import__('os').system(...)`` in a gateway's condition runs on the
workflow server. So code is held to a small expression language (names, literals, arithmetic,
comparisons, boolean logic, ``x["key"]``, a few pure functions) and scripts to assignments and ``if``:
checked at deploy with the element at fault named, and again before every evaluation (definitions
deployed before this check, and places the deploy scan does not know), with no builtins but those
functions. No attribute access: that is the road to every sandbox escape in Python.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

FUNCTIONS: dict[str, Any] = {
    "abs": abs, "min": min, "max": max, "round": round, "len": len, "int": int, "str": str, "bool": bool,
}
CODE_MAX_CHARS = 2000
_EXPRESSION_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
    ast.IfExp, ast.Name, ast.Load, ast.Constant, ast.Subscript, ast.Tuple, ast.List, ast.Call,
)
_SCRIPT_NODES: tuple[type[ast.AST], ...] = (
    *_EXPRESSION_NODES, ast.Module, ast.Assign, ast.AugAssign, ast.If, ast.Pass, ast.Store,
)


class UnsafeCode(ValueError):
    """Code outside the language a process may run; the message is the designer's (Chinese)."""


def _check(code: str, mode: str) -> None:
    if len(code) > CODE_MAX_CHARS:
        raise UnsafeCode(f"表达式过长（最多{CODE_MAX_CHARS}个字符）")
    try:
        tree = ast.parse(code, mode=mode)
    except SyntaxError as exc:
        raise UnsafeCode(f"表达式语法错误（第{exc.lineno or 1}行）：{code.strip()[:80]}") from exc
    allowed = _EXPRESSION_NODES if mode == "eval" else _SCRIPT_NODES
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise UnsafeCode(f"表达式中不允许使用 {type(node).__name__}：{code.strip()[:80]}")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeCode(f"表达式中不允许使用以下划线开头的名称 {node.id}")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                                               and not node.keywords):
            raise UnsafeCode(f"表达式中只能调用 {'、'.join(FUNCTIONS)}：{code.strip()[:80]}")
        if isinstance(node, ast.Constant) and isinstance(node.value, bytes | complex | type(...)):
            raise UnsafeCode(f"表达式中不允许使用该常量：{code.strip()[:80]}")
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                raise UnsafeCode(f"脚本只能给变量赋值：{code.strip()[:80]}")


@lru_cache(maxsize=512)
def check_expression(code: str) -> None:
    _check(code, "eval")


@lru_cache(maxsize=512)
def check_script(code: str) -> None:
    _check(code, "exec")


def _globals() -> dict[str, Any]:
    return {"__builtins__": dict(FUNCTIONS)}


class SafeEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment that checks the code first and runs it with only ``FUNCTIONS``."""

    def __init__(self) -> None:
        super().__init__(_globals())

    def evaluate(self, expression: Any, context: Any, external_context: Any = None) -> Any:
        check_expression(str(expression))
        return super().evaluate(expression, context, external_context)

    def execute(self, script: Any, context: Any, external_context: Any = None) -> Any:
        check_script(str(script))
        return super().execute(script, context, external_context)

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise UnsafeCode("流程中不允许调用外部服务")


def script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=SafeEnvironment())


SCRIPT_ENGINE = script_engine()
