"""docs/events.md's generated parts, from the catalog (hall_common/event_schemas.py and events.ROUTES).

``python -m hall_common.event_docs`` rewrites the parts between the markers; ``--check`` exits 1 when
the file differs from the catalog (tests/unit/test_downstream_catalog.py fails the same way)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from . import event_schemas
from .events import ALL_SERVICES, DOWNSTREAM, OWNER, ROUTES

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"
PARTS = ("event table", "event reference")


def _markers(part: str) -> tuple[str, str]:
    return (f"<!-- generated: {part} (python -m hall_common.event_docs) -->",
            f"<!-- end generated: {part} -->")


def _receivers(type_: str) -> str:
    targets = ROUTES[type_]
    if targets == ALL_SERVICES:
        return "every service"
    names = {OWNER: "the `owner` named in the data", DOWNSTREAM: "the downstream stream only"}
    return ", ".join(names.get(t, t) for t in targets)


def event_table() -> str:
    lines = ["| type | emitted by | received by | downstream | data |", "|---|---|---|---|---|"]
    for type_, entry in event_schemas.CATALOG.items():
        downstream = f"v{entry.version}" if entry.downstream else "no"
        lines.append(f"| `{type_}` | {entry.emitted_by} | {_receivers(type_)} | {downstream} | {entry.doc} |")
    return "\n".join(lines)


def event_reference() -> str:
    blocks: list[str] = []
    for type_ in event_schemas.downstream_types():
        blocks.append("\n".join([
            f"#### `{type_}`",
            "",
            f"Schema `{event_schemas.schema_uri(type_)}`, version {event_schemas.spec(type_).version}; an example "
            "of its `data`:",
            "",
            "```json",
            _compact(event_schemas.example(type_)),
            "```",
            "",
            "<details><summary>JSON Schema of <code>data</code></summary>",
            "",
            "```json",
            _compact(event_schemas.data_schema(type_)),
            "```",
            "",
            "</details>",
        ]))
    return "\n\n".join(blocks)


def _compact(document: dict[str, Any]) -> str:
    """One line per top-level key, and per property of a schema: readable, and a page not a book."""
    def line(key: str, value: Any) -> str:
        return f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}"

    rows: list[str] = []
    for key, value in document.items():
        if key in ("properties", "data") and isinstance(value, dict) and value:
            inner = ",\n".join(f"    {line(k, v)}" for k, v in value.items())
            rows.append(f"  {json.dumps(key)}: {{\n{inner}\n  }}")
        else:
            rows.append(f"  {line(key, value)}")
    return "{\n" + ",\n".join(rows) + "\n}"


RENDERERS = {"event table": event_table, "event reference": event_reference}


def render(text: str) -> str:
    """The document with each generated part replaced by what the catalog gives now."""
    for part in PARTS:
        begin, end = _markers(part)
        head, found, rest = text.partition(begin)
        if not found or end not in rest:
            raise ValueError(f"docs/events.md has no markers for the {part}: {begin} ... {end}")
        _, _, tail = rest.partition(end)
        text = f"{head}{begin}\n{RENDERERS[part]()}\n{end}{tail}"
    return text


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in argv:
        if current != wanted:
            print("docs/events.md differs from the event catalog: run python -m hall_common.event_docs")
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
