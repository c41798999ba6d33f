"""The container image installs only requirements.txt (the runtime's pins); the tools for tests, lint and the
local stack are in requirements-dev.txt. A package the hall's code imports but only the dev file pins would
work in every test here and fail in production at the first import: this check finds it first."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DIRS = ("hall_common", "services", "gateway", "deploy", "ukey_agent")
OWN = {"hall_common", "services", "gateway", "deploy", "ukey_agent", "bench", "tests"}
# Code the image carries but never runs, each import with why it may come from the dev file only.
DEV_ONLY = {
    ("deploy/stack.py", "httpx"): "the local stack of `make run` and the tests; the image starts deploy/container.py",
    ("hall_common/event_schemas.py", "jsonschema_rs"): "validation of events in the tests and tools, never at run time",
}
TOOLS = {"pytest", "playwright", "hypothesis", "mypy", "ruff", "schemathesis", "check-jsonschema",
         "kubernetes-validate"}


def pins(path: Path) -> set[str]:
    names: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            names.add(canonicalize_name(line.split("==", 1)[0].split("[", 1)[0]))
    return names


def imported_modules() -> dict[tuple[str, str], int]:
    """(file, top-level module) of every third-party import in the runtime's code, with its line."""
    found: dict[tuple[str, str], int] = {}
    for directory in RUNTIME_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), relative)):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".", 1)[0]
                    if top not in sys.stdlib_module_names and top not in OWN and top != "__future__":
                        found.setdefault((relative, top), node.lineno)
    return found


def test_every_package_the_runtime_imports_is_pinned_in_the_runtime_requirements() -> None:
    runtime = pins(ROOT / "requirements.txt")
    providers = packages_distributions()
    missing = []
    for (relative, module), line in sorted(imported_modules().items()):
        if (relative, module) in DEV_ONLY:
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & runtime:
            missing.append(f"{relative}:{line} imports {module} ({', '.join(sorted(dists)) or 'no package'})")
    assert missing == [], "pin these in requirements.txt, not only in requirements-dev.txt:\n" + "\n".join(missing)
    # The allowances still name real imports: a stale one would hide nothing and mislead.
    assert set(DEV_ONLY) <= set(imported_modules())


def test_the_runtime_requirements_carry_no_test_or_lint_tool_and_the_dev_file_builds_on_them() -> None:
    runtime = pins(ROOT / "requirements.txt")
    assert not runtime & {canonicalize_name(t) for t in TOOLS}
    dev_text = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert "-r requirements.txt" in dev_text.splitlines()
    assert not runtime & pins(ROOT / "requirements-dev.txt"), "a package pinned in both files"
    assert "requirements.txt" in (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "requirements-dev.txt" not in (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_what_the_runtime_pins_need_is_pinned_there_too() -> None:
    # A runtime package's own dependency pinned only for development (the OTLP exporter needs requests)
    # is installed here by the dev file and missing from the image.
    runtime = pins(ROOT / "requirements.txt")
    missing = []
    for name in sorted(runtime):
        for text in distribution(name).requires or []:
            needed = Requirement(text)
            if needed.marker is not None and not needed.marker.evaluate({"extra": ""}):
                continue  # an extra's, or another platform's
            if canonicalize_name(needed.name) not in runtime:
                missing.append(f"{name} needs {needed.name}")
    assert missing == [], "pin these in requirements.txt:\n" + "\n".join(missing)
