"""The size and step bounds of process code: every operation an expression or script runs, checked
before Python's own C call does the work.

A single C call in plain Python can take minutes or gigabytes: ``round(1, -100000000)``,
``[0]*200000000``, ``'%1000000000d' % 1``, an integer squared 26 times. sandbox.py rewrites every
arithmetic operation and every function call of a definition's code into a call of ``Operations``,
which refuses an operand that would make a value beyond the bounds below (before computing it), and
counts the operations of one evaluation against a budget. Each refusal is a ``LimitExceeded`` whose
Chinese message the engine shows with the node that ran the code.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Mapping
from typing import Any

MAX_INT_DIGITS = 100
MAX_INT = 10 ** MAX_INT_DIGITS
# A product of two integers has at most the sum of their bit lengths: checked before multiplying.
_MAX_PRODUCT_BITS = MAX_INT.bit_length() + 1
MAX_LENGTH = 10_000  # a string's characters, or a list's elements counted through its nesting
MAX_ROUND_DIGITS = 20
MAX_STEPS = 1_000  # operations and calls of one evaluation
EVALUATION_SECONDS = 1.0  # each operation is bounded, but thousands of them on large values add up


class LimitExceeded(ValueError):
    """A value or an evaluation beyond the bounds; the message is the designer's (Chinese)."""


_CONTAINERS = frozenset({str, list, tuple, dict})


def weight(value: Any, limit: int = MAX_LENGTH) -> int:
    """A value's size in the units MAX_LENGTH counts: characters of a string, elements of a list or
    tuple and of the lists inside it (``[[0]*100]*100`` weighs 10,100, not 100); stops counting past
    ``limit``."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple | dict):
        items = value.values() if isinstance(value, dict) else value
        total = len(value)
        if _CONTAINERS.isdisjoint(map(type, items)):  # flat (the usual case): counted at C speed
            return total
        for item in items:
            if total > limit:
                break
            if isinstance(item, str | list | tuple | dict):
                total += weight(item, limit - total)
        return total
    return 1


def sized(value: Any) -> Any:
    """The result of an operation, refused if it is beyond the bounds."""
    if isinstance(value, int) and not isinstance(value, bool) and not -MAX_INT < value < MAX_INT:
        raise LimitExceeded(f"整数超出{MAX_INT_DIGITS}位")
    if isinstance(value, str | list | tuple) and weight(value) > MAX_LENGTH:
        raise LimitExceeded(f"字符串或列表超出{MAX_LENGTH}个元素")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _mul(left: Any, right: Any) -> Any:
    if _is_sequence(left) and _is_int(right) or _is_int(left) and _is_sequence(right):
        sequence, count = (left, right) if _is_sequence(left) else (right, left)
        if count > 0 and weight(sequence) * count > MAX_LENGTH:
            raise LimitExceeded(f"重复后的字符串或列表超出{MAX_LENGTH}个元素")
    elif _is_int(left) and _is_int(right) and left.bit_length() + right.bit_length() > _MAX_PRODUCT_BITS:
        raise LimitExceeded(f"整数超出{MAX_INT_DIGITS}位")
    return operator.mul(left, right)


def _add(left: Any, right: Any) -> Any:
    if _is_sequence(left) and _is_sequence(right) and weight(left) + weight(right) > MAX_LENGTH:
        raise LimitExceeded(f"字符串或列表超出{MAX_LENGTH}个元素")
    return operator.add(left, right)


def checked_mod(left: Any, right: Any) -> Any:
    if not isinstance(left, int | float):  # 'str' % ...: formatting, whose width is any number
        raise LimitExceeded("不允许使用 % 格式化字符串，请用 str() 和 + 拼接")
    return operator.mod(left, right)


def checked_round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is not None:
        if not isinstance(ndigits, int) or not -MAX_ROUND_DIGITS <= ndigits <= MAX_ROUND_DIGITS:
            raise LimitExceeded(f"round 的位数应在 -{MAX_ROUND_DIGITS} 到 {MAX_ROUND_DIGITS} 之间")
        return round(number, ndigits)
    return round(number)


def _int(value: Any = 0) -> int:
    if isinstance(value, str) and len(value.strip()) > MAX_INT_DIGITS + 1:
        raise LimitExceeded(f"整数超出{MAX_INT_DIGITS}位")
    return int(value)


def _str(value: Any = "") -> str:
    if isinstance(value, int):  # an integer from the data: its digits before its text
        sized(value)
    if weight(value) > MAX_LENGTH:
        raise LimitExceeded(f"字符串或列表超出{MAX_LENGTH}个元素")
    return str(value)


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "Add": _add, "Sub": operator.sub, "Mult": _mul, "Div": operator.truediv, "FloorDiv": operator.floordiv,
    "Mod": checked_mod,
}
UNARY: dict[str, Callable[[Any], Any]] = {"USub": operator.neg, "UAdd": operator.pos, "Not": operator.not_}
FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "abs": abs, "min": min, "max": max, "round": checked_round, "len": len, "int": _int, "str": _str, "bool": bool,
}


class Operations:
    """One evaluation's operations: each checked, each counted against the step budget."""

    __slots__ = ("deadline", "steps")

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + EVALUATION_SECONDS

    def _step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise LimitExceeded(f"计算步骤超过{MAX_STEPS}步")
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"计算超过{EVALUATION_SECONDS:g}秒")

    def binary(self, name: str, left: Any, right: Any) -> Any:
        self._step()
        return sized(BINARY[name](left, right))

    def unary(self, name: str, operand: Any) -> Any:
        self._step()
        return sized(UNARY[name](operand))

    def call(self, name: str, *args: Any) -> Any:
        self._step()
        return sized(FUNCTIONS[name](*args))

    def build(self, kind: str, *items: Any) -> Any:
        """A list or tuple literal: ``[l, l, l]`` nests what it holds (by reference, so repeated
        nesting would describe more elements than memory could hold), counted like any other value."""
        self._step()
        if sum(weight(item) for item in items) + len(items) > MAX_LENGTH:
            raise LimitExceeded(f"字符串或列表超出{MAX_LENGTH}个元素")
        return list(items) if kind == "list" else tuple(items)
