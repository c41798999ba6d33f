"""No package imports itself in a circle at module level: a cycle works only while the import order
happens to suit it (a name read from a half-initialised module fails), and it hides which module is
the lower layer. Imports inside functions are lazy and left out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent for p in (ROOT / "services").glob("*/__init__.py"))


def module_imports(package: Path) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports at module level."""
    name = ".".join(package.relative_to(ROOT).parts)
    modules = {p.stem for p in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        found: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level == 1 and not base:  # from . import a, b
                    found |= {alias.name for alias in node.names if alias.name in modules}
                elif node.level == 1 or base.startswith(name + "."):
                    found.add(base.removeprefix(name + ".").split(".")[0])
            elif isinstance(node, ast.Import):
                found |= {a.name.removeprefix(name + ".").split(".")[0] for a in node.names
                          if a.name.startswith(name + ".")}
        graph[path.stem] = (found & modules) - {path.stem}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_a_service_package_has_no_import_cycle(package: Path) -> None:
    assert cycle(module_imports(package)) is None


def test_the_check_finds_a_cycle() -> None:
    assert cycle({"services": {"tracks"}, "tracks": {"services"}}) == ["services", "tracks", "services"]
