"""The only Python a process definition may run: conditions and small scripts on process data.

SpiffWorkflow evaluates every condition and script with ``eval``/``exec``, and center admins write
them in the designer. Unchecked, ``__import__('os').system(...)`` in a gateway's condition runs on the
workflow server. So code is held to a small expression language (names, literals, arithmetic,
comparisons, boolean logic, ``x["key"]``, a few pure functions) and scripts to assignments and ``if``:
checked at deploy with the element at fault named, and again before every evaluation (definitions
deployed before this check, and places the deploy scan does not know). No attribute access: that is
the road to every sandbox escape in Python.

Within the language, no value may grow without bound (bounds.py): the checked code is rewritten so
that every operator and function call goes through ``bounds.Operations``, and it runs with no
builtins at all. What a deploy can see in the text alone (``round(x, -100000000)``, ``[0]*200000000``,
``'%d' % x``) is refused there already.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Any

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from . import bounds
from .bounds import FUNCTIONS, LimitExceeded, Operations

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
# The names the designer reads for what is most often tried and refused.
_NODE_NAMES = {"Pow": "乘方（**）", "Attribute": "属性访问（.）", "Lambda": "lambda", "ListComp": "推导式",
               "GeneratorExp": "推导式", "DictComp": "推导式", "SetComp": "推导式", "JoinedStr": "f 字符串",
               "For": "循环", "While": "循环", "Import": "import", "ImportFrom": "import", "LShift": "位移（<<）",
               "RShift": "位移（>>）", "Starred": "解包（*）", "Slice": "切片"}
OPERATIONS = "__hall_ops"  # the rewritten code's one global; user code may not name anything "_..."


class UnsafeCode(ValueError):
    """Code outside the language a process may run; the message is the designer's (Chinese)."""


def _check(code: str, mode: str) -> ast.AST:
    if len(code) > CODE_MAX_CHARS:
        raise UnsafeCode(f"表达式过长（最多{CODE_MAX_CHARS}个字符）")
    try:
        tree = ast.parse(code, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:  # ValueError: NUL in the text
        line = getattr(exc, "lineno", None) or 1
        raise UnsafeCode(f"表达式语法错误（第{line}行）：{code.strip()[:80]}") from exc
    allowed = _EXPRESSION_NODES if mode == "eval" else _SCRIPT_NODES
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            name = type(node).__name__
            raise UnsafeCode(f"表达式中不允许使用 {_NODE_NAMES.get(name, name)}：{code.strip()[:80]}")
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
        _check_bounds(node, code)
    return tree


def _constant(node: ast.AST) -> Any:
    """The value of a literal (a constant, a list or tuple of constants, a negative number), else None."""
    try:
        return ast.literal_eval(node) if isinstance(node, ast.Constant | ast.List | ast.Tuple | ast.UnaryOp) else None
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None


def _check_bounds(node: ast.AST, code: str) -> None:
    """What the text alone shows to be beyond bounds.py's limits, refused at deploy: the same refusals
    the operations would give at run time, told to the designer before anything runs."""
    where = f"：{code.strip()[:80]}"
    try:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            bounds.sized(node.value)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Mod | ast.Add):
            left, right = _constant(node.left), _constant(node.right)
            if isinstance(node.op, ast.Mod) and isinstance(left, str):
                bounds.checked_mod(left, right)
            if left is not None and right is not None and not isinstance(node.op, ast.Mod):
                bounds.BINARY[type(node.op).__name__](left, right)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "round"
              and len(node.args) == 2 and _constant(node.args[1]) is not None):
            bounds.checked_round(0, _constant(node.args[1]))
    except LimitExceeded as exc:
        raise UnsafeCode(f"{exc}{where}") from exc
    except (TypeError, ZeroDivisionError, OverflowError, ValueError):
        pass  # a literal error, not a size: the run time names it on the data


class _Bounded(ast.NodeTransformer):
    """Every operator and call through the evaluation's ``Operations`` (which checks and counts it)."""

    @staticmethod
    def _ops(method: str, name: str, *args: ast.expr, at: ast.AST) -> ast.expr:
        func = ast.Attribute(value=ast.Name(id=OPERATIONS, ctx=ast.Load()), attr=method, ctx=ast.Load())
        return ast.copy_location(ast.Call(func=func, args=[ast.Constant(name), *args], keywords=[]), at)

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        return self._ops("binary", type(node.op).__name__, node.left, node.right, at=node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        return self._ops("unary", type(node.op).__name__, node.operand, at=node)

    def visit_List(self, node: ast.List) -> ast.expr:
        self.generic_visit(node)
        return self._ops("build", "list", *node.elts, at=node)  # only loaded: assignments name a variable

    def visit_Tuple(self, node: ast.Tuple) -> ast.expr:
        self.generic_visit(node)
        return self._ops("build", "tuple", *node.elts, at=node)

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        assert isinstance(node.func, ast.Name)  # _check allows nothing else
        return self._ops("call", node.func.id, *node.args, at=node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        assert isinstance(node.target, ast.Name)
        value = self._ops("binary", type(node.op).__name__, ast.Name(id=node.target.id, ctx=ast.Load()),
                          node.value, at=node)
        return ast.copy_location(ast.Assign(targets=[ast.Name(id=node.target.id, ctx=ast.Store())], value=value), node)


@lru_cache(maxsize=512)
def check_expression(code: str) -> None:
    _check(code, "eval")


@lru_cache(maxsize=512)
def check_script(code: str) -> None:
    _check(code, "exec")


@lru_cache(maxsize=512)
def _compiled(code: str, mode: str) -> Any:
    tree = ast.fix_missing_locations(_Bounded().visit(_check(code, mode)))
    return compile(tree, "<process>", mode)


def _namespace(data: dict[str, Any]) -> dict[str, Any]:
    # The operations last: process data can never shadow them; no builtins at all (the functions a
    # process may call go through the operations).
    return {**data, "__builtins__": {}, OPERATIONS: Operations()}


def evaluate(code: str, data: dict[str, Any]) -> Any:
    return eval(_compiled(str(code), "eval"), _namespace(data))  # noqa: S307 - checked and rewritten above


def execute(code: str, data: dict[str, Any]) -> None:
    """Run a script; the variables it assigns go back into ``data``."""
    namespace = _namespace(data)
    exec(_compiled(str(code), "exec"), namespace)  # noqa: S102 - checked and rewritten above
    for key, value in namespace.items():
        if key not in ("__builtins__", OPERATIONS):
            data[key] = value


class SafeEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment that runs only checked, bounded code on the task's data."""

    def __init__(self) -> None:
        super().__init__({})

    def evaluate(self, expression: Any, context: Any, external_context: Any = None) -> Any:
        return evaluate(str(expression), {**(external_context or {}), **context})

    def execute(self, script: Any, context: Any, external_context: Any = None) -> Any:
        execute(str(script), context)
        return True

    def call_service(self, context: Any, **kwargs: Any) -> Any:
        raise UnsafeCode("流程中不允许调用外部服务")


def script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=SafeEnvironment())


SCRIPT_ENGINE = script_engine()
