"""Schemathesis hooks for tests/integration/test_schema_fuzz.py (loaded by the fuzzer's process from its
config file, not by pytest): keep the fuzz away from what would change the shared stack for the other
tests. A push to every employer (``target: all``) would put a fuzzed message in every demo inbox."""

from __future__ import annotations

from typing import Any

import schemathesis


def _kept(case: Any) -> bool:
    body = case.body
    return not (case.operation.path == "/pushes" and case.method.upper() == "POST"
                and isinstance(body, dict) and body.get("target") == "all")


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    return _kept(case)


@schemathesis.hook
def before_add_examples(context: Any, examples: list[Any]) -> None:
    examples[:] = [case for case in examples if _kept(case)]
