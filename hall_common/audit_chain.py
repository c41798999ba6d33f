"""The audit trail's hash chain: how a record's hash is made, and the check that names the first record
edited, deleted or moved behind the hall's back.

Each record's hash is SHA-256 over the canonical JSON of its content and its predecessor's hash (the
first record's predecessor is GENESIS); a one-row head (last id, last hash) is written in the same
transaction as each record, so a deleted last record shows too. This module is the standard library
only: it is what a third party runs on an export, with no database (docs/audit.md).

    python -m hall_common.audit_chain verify --service auth      # the service's database (settings)
    python -m hall_common.audit_chain verify --file export.jsonl  # an export, offline
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

FORMAT = "hall-audit-chain/1"
GENESIS = "0" * 64
AUDITED_SERVICES = ("auth", "member", "workflow")
# The record's content that its hash covers, in the export's field names.
CONTENT = ("id", "actor", "action", "target", "detail", "before", "after", "at")
# Covered only when the record has it: a record made before the field existed hashes as it always did.
OPTIONAL = ("factor",)

OK, ALTERED, UNLINKED, DELETED, REORDERED, TRUNCATED, BEYOND_HEAD, NO_HEAD = (
    "ok", "altered", "unlinked", "deleted", "reordered", "truncated", "beyond_head", "no_head")
# What the CLI prints for each finding (the console shows the verdict's Chinese message).
REASONS = {
    ALTERED: "content altered: the record does not match its hash",
    UNLINKED: "content altered: the record does not link to its predecessor's hash",
    DELETED: "predecessor missing (deleted)",
    REORDERED: "order changed: the record's predecessor stands elsewhere in the chain",
    TRUNCATED: "the chain ends before its head (the last records were deleted)",
    BEYOND_HEAD: "the record is beyond the chain's head (not written by the hall)",
    NO_HEAD: "the chain's head is missing",
}


def at_text(at: datetime) -> str:
    """A record's time as hashed and exported: naive UTC, always with microseconds."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def chain_hash(content: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 (hex) of the UTF-8 canonical JSON of the content with its predecessor's hash: keys
    sorted, no spaces, non-ASCII as it is."""
    payload = {name: content[name] for name in CONTENT}
    payload.update({name: content[name] for name in OPTIONAL if content.get(name) is not None})
    payload["prev_hash"] = prev_hash
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Link:
    """One record as the chain sees it: its content (``at`` as at_text) and both hashes."""

    id: int
    content: dict[str, Any]
    prev_hash: str | None
    hash: str | None

    @classmethod
    def of(cls, row: Any) -> Link:
        """From a stored record (a model instance or a row with the same attribute names)."""
        content = {name: getattr(row, name) for name in CONTENT}
        content.update({name: getattr(row, name, None) for name in OPTIONAL if getattr(row, name, None) is not None})
        content["at"] = at_text(row.at)
        return cls(row.id, content, row.prev_hash, row.hash)

    def exported(self) -> dict[str, Any]:
        return {**self.content, "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True)
class Head:
    last_id: int
    last_hash: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    count: int  # the records checked (all of them when ok)
    last_id: int | None = None  # the last good record
    last_hash: str | None = None
    broken_id: int | None = None  # the first broken record (the first missing one for a deletion)
    reason: str = OK
    message: str = ""  # Chinese, as the console shows it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _broken(count: int, last: Link | None, broken_id: int | None, reason: str, message: str) -> Verdict:
    return Verdict(False, count, last.id if last else None, last.hash if last else None, broken_id, reason, message)


def verify(links: Iterable[Link], head: Head | None, locate: Callable[[str], int | None] | None = None) -> Verdict:
    """Walk the chain in order; the first break ends the walk. ``locate`` finds the record whose hash is
    given (a second look, only at a break) to tell a record moved from one deleted."""
    if head is None:
        return _broken(0, None, None, NO_HEAD, "校验链头缺失，无法确认审计日志完整")
    previous: Link | None = None
    count = 0
    for link in links:
        expected = previous.hash if previous is not None and previous.hash else GENESIS  # a passed link has one
        if link.id > head.last_id:
            return _broken(count, previous, link.id, BEYOND_HEAD, f"第{link.id}条记录不在校验链上（未经系统写入）")
        if previous is not None and link.id <= previous.id:
            return _broken(count, previous, link.id, REORDERED, f"第{link.id}条记录的顺序被改变")
        if link.prev_hash != expected:
            elsewhere = locate(link.prev_hash) if locate and link.prev_hash else None
            if elsewhere is not None and elsewhere != link.id:
                return _broken(count, previous, link.id, REORDERED,
                               f"第{link.id}条记录的顺序被改变（其前一条应为第{elsewhere}条）")
            first_missing = previous.id + 1 if previous else 1
            if link.id > first_missing:
                return _broken(count, previous, first_missing, DELETED, _deleted(first_missing, link.id - 1))
            if previous is not None and link.hash == chain_hash(link.content, link.prev_hash or ""):
                # This record is whole as written: its predecessor was rewritten, hash and all.
                return _broken(count - 1, None, previous.id, UNLINKED,
                               f"第{previous.id}条记录被篡改（与后一条记录不衔接）")
            return _broken(count, previous, link.id, UNLINKED, f"第{link.id}条记录被篡改（与前一条记录不衔接）")
        if link.hash != chain_hash(link.content, expected):
            return _broken(count, previous, link.id, ALTERED, f"第{link.id}条记录被篡改")
        previous, count = link, count + 1
    last_id = previous.id if previous else 0
    if last_id < head.last_id:
        return _broken(count, previous, last_id + 1, TRUNCATED,
                       f"第{last_id + 1}条及之后的记录被删除（校验链头为第{head.last_id}条）")
    if previous is not None and previous.hash != head.last_hash:
        return _broken(count - 1, None, previous.id, ALTERED, f"第{previous.id}条记录被篡改（与校验链头不符）")
    return Verdict(True, count, previous.id if previous else None, previous.hash if previous else GENESIS,
                   message=f"校验通过（共{count}条）")


def _deleted(first: int, last: int) -> str:
    return f"第{first}条记录被删除" if first == last else f"第{first}至{last}条记录被删除"


# -- exports ----------------------------------------------------------------------------------------

def export_header(service: str, head: Head, exported_at: datetime) -> dict[str, Any]:
    """The export's first line: what the records that follow must chain up to."""
    return {"format": FORMAT, "service": service, "genesis": GENESIS, "exported_at": at_text(exported_at),
            "head": {"last_id": head.last_id, "last_hash": head.last_hash}}


def export_line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


def _text(value: Any, name: str, nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name}: not a string")
    return value


def _link(line: str, number: int) -> Link:
    try:
        value = json.loads(line)
        record_id = value["id"]
        if not isinstance(record_id, int) or isinstance(record_id, bool):
            raise ValueError("id: not an integer")
        content = {name: _text(value[name], name, name in ("before", "after")) for name in CONTENT if name != "id"}
        content.update({name: _text(value[name], name) for name in OPTIONAL if value.get(name) is not None})
        return Link(record_id, {"id": record_id, **content}, _text(value["prev_hash"], "prev_hash", True),
                    _text(value["hash"], "hash", True))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"line {number}: not an audit record ({exc})") from exc


def read_export(path: Path) -> tuple[dict[str, Any], Iterator[Link]]:
    """The export's header and its records, read one line at a time."""
    with path.open(encoding="utf-8") as file:
        header = json.loads(file.readline() or "null")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"not an audit chain export ({FORMAT})")

    def links() -> Iterator[Link]:
        with path.open(encoding="utf-8") as file:
            file.readline()
            for number, line in enumerate(file, start=2):
                if line.strip():
                    yield _link(line, number)

    return header, links()


def verify_file(path: Path) -> Verdict:
    header, links = read_export(path)
    head = Head(int(header["head"]["last_id"]), str(header["head"]["last_hash"]))

    def locate(hash_: str) -> int | None:  # a second pass over the file, only at a break
        return next((link.id for link in read_export(path)[1] if link.hash == hash_), None)

    return verify(links, head, locate)


def verify_service(service: str) -> Verdict:
    """The chain in the service's own database (HALL_<SERVICE>_DATABASE_URL or the default)."""
    import importlib

    import sqlalchemy
    from sqlalchemy.orm import Session

    from .audit import verify_stored
    from .settings import get_settings

    model = importlib.import_module(f"services.{service}.models").AuditRecord
    engine = sqlalchemy.create_engine(get_settings().database_url(service))
    try:
        with Session(engine) as session:
            return verify_stored(session, model)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hall_common.audit_chain",
                                     description="Verify an audit trail's hash chain.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="check a service's chain, or an export offline")
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument("--service", choices=AUDITED_SERVICES)
    source.add_argument("--file", type=Path, help="an export (GET /audit-records/export), no database needed")
    args = parser.parse_args(argv)
    try:
        verdict = verify_file(args.file) if args.file else verify_service(args.service)
    except (OSError, ValueError) as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        return 2
    if verdict.ok:
        print(f"OK: {verdict.count} records, last hash {verdict.last_hash}")
        return 0
    print(f"BROKEN at record {verdict.broken_id}: {REASONS[verdict.reason]}"
          f" ({verdict.count} records verified before it)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
