"""The event catalog is closed: every type the code emits has a route in events.ROUTES, and every
service a route names has a handler for the type. A gap fails here, before it can drop an event."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hall_common import event_schemas
from hall_common.consumer import COMMON_HANDLERS
from hall_common.events import DOWNSTREAM, OWNER, ROUTES
from hall_common.settings import SERVICES

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("hall_common", "services", "gateway")
OUTCOMES = ("business.approved", "business.rejected")


@dataclass(frozen=True)
class Emission:
    type: str
    where: str  # file:line
    service: str | None  # the service folder it is in; None for shared plumbing


def emitted_types(root: Path = ROOT) -> tuple[list[Emission], list[str]]:
    """Every ``emit(session, <type>, ...)`` call in the code: the string literals its type argument can
    take (a conditional expression gives two), and the calls whose type is not a literal at all."""
    found: list[Emission] = []
    opaque: list[str] = []
    for directory in SOURCE_DIRS:
        for path in sorted((root / directory).rglob("*.py")):
            relative = path.relative_to(root)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(relative))
            service = relative.parts[1] if relative.parts[0] == "services" and len(relative.parts) > 2 else None
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and _called_name(node.func) == "emit"):
                    continue
                argument = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "type_"), None)
                where = f"{relative}:{node.lineno}"
                literals = [n.value for n in ast.walk(argument) if isinstance(n, ast.Constant)
                            and isinstance(n.value, str)] if argument is not None else []
                if not literals:
                    opaque.append(where)
                found.extend(Emission(t, where, service) for t in literals)
    return found, opaque


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def service_handlers() -> dict[str, set[str]]:
    """What each service's consumer can handle: its runtime's handlers and the common ones."""
    return {
        name: set(importlib.import_module(f"services.{name}").RUNTIME.handlers) | set(COMMON_HANDLERS)
        for name in SERVICES
    }


def catalog_problems(
    emissions: list[Emission], routes: Mapping[str, tuple[str, ...]], handlers: Mapping[str, set[str]]
) -> list[str]:
    problems = [f"{e.where} emits {e.type!r}, which has no route in events.ROUTES"
                for e in emissions if e.type not in routes]
    # Owners of business: the services that submit business for approval or handle its outcome.
    owners = {e.service for e in emissions if e.type == "business.submitted" and e.service}
    owners |= {name for name, types in handlers.items() if types & set(OUTCOMES)}
    for event_type, targets in routes.items():
        for target in targets:
            if target == DOWNSTREAM:
                entry = event_schemas.CATALOG.get(event_type)
                if entry is None or not entry.downstream:
                    problems.append(f"{event_type} goes to the downstream stream only, which does not carry it")
            elif target == OWNER:
                if not owners:
                    problems.append(f"{event_type} goes to the owner of a business, but no service owns one")
                problems += [f"{event_type} reaches owner {owner}, which has no handler for it"
                             for owner in sorted(owners) if event_type not in handlers.get(owner, set())]
            elif target not in handlers:
                problems.append(f"{event_type} is routed to {target}, which is not a service")
            elif event_type not in handlers[target]:
                problems.append(f"{event_type} is routed to {target}, which has no handler for it")
    # A handler nothing is routed to is a route someone forgot.
    for name, types in handlers.items():
        for event_type in sorted(types - set(COMMON_HANDLERS)):
            targets = routes.get(event_type, ())
            if name not in targets and not (OWNER in targets and name in owners):
                problems.append(f"{name} handles {event_type}, but events.ROUTES sends it no such event")
    return problems


def test_every_emitted_type_is_routed_and_every_route_handled() -> None:
    emissions, opaque = emitted_types()
    assert opaque == [], f"emit() with a type that is not a string literal (the catalog cannot see it): {opaque}"
    assert {e.type for e in emissions} >= {"business.submitted", "business.approved", "auth.session_revoked"}
    assert catalog_problems(emissions, ROUTES, service_handlers()) == []


def test_the_catalog_check_finds_each_kind_of_gap() -> None:
    emissions = [
        Emission("business.submitted", "services/employer/services.py:1", "employer"),
        Emission("employer.renamed", "services/employer/services.py:2", "employer"),
    ]
    handlers = {"employer": {"business.approved"}, "workflow": {"business.submitted"}, "notify": {"member.sealed"}}
    routes = {
        "business.submitted": ("workflow",),
        "business.approved": (OWNER,),
        "business.rejected": (OWNER,),
        "employer.info_changed": ("notify", "billing"),
        "auth.session_revoked": (DOWNSTREAM,),
    }
    assert catalog_problems(emissions, routes, handlers) == [
        "services/employer/services.py:2 emits 'employer.renamed', which has no route in events.ROUTES",
        "business.rejected reaches owner employer, which has no handler for it",
        "employer.info_changed is routed to notify, which has no handler for it",
        "employer.info_changed is routed to billing, which is not a service",
        "auth.session_revoked goes to the downstream stream only, which does not carry it",
        "notify handles member.sealed, but events.ROUTES sends it no such event",
    ]


def test_the_scan_reads_conditional_and_keyword_types(tmp_path: Path) -> None:
    module = tmp_path / "services" / "member" / "services.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "emit(s, 'member.sealed' if ok else 'member.seal_refused', {})\n"
        "outbox.emit(session=s, type_='member.unsealed', data={})\n"
        "emit(s, chosen, {})\n"
    )
    emissions, opaque = emitted_types(tmp_path)
    assert [(e.type, e.where, e.service) for e in emissions] == [
        ("member.sealed", "services/member/services.py:1", "member"),
        ("member.seal_refused", "services/member/services.py:1", "member"),
        ("member.unsealed", "services/member/services.py:2", "member"),
    ]
    assert opaque == ["services/member/services.py:3"]
