"""Prints anyone can verify (docs/prints.md): a print that states its document (``prints.Document``)
carries a verification code and a QR code opening the hall's public page ``/verify?code=``.

The code is the hall's signature over the document's content: the first 95 bits of
HMAC-SHA256(key, canonical content), base32 in Crockford's alphabet, after one letter naming the
service that issued it (so the public page knows whom to ask), shown as five groups of four:
``PXXX-XXXX-XXXX-XXXX-XXXX``. A code is typed, so it cannot carry the content itself: the issuing
service stores the content once, keyed by the code, in its own ``print_verifications`` table.

A lookup finds the row by the code and signs the stored content again: a code nobody issued finds
nothing, and a row changed in the database after issue no longer matches its code; both answer
"not found or altered". 95 bits make guessing another employer's code hopeless (and the public page
is rate limited on top). The key lives in a file (``Settings.print_signing_key_file``, by default
var_dir/print_signing_key, created on first use like the gateway's secret): replacing it makes every
earlier print unverifiable, so it is backed up with the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import DateTime, String, Table, Text, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from .db import get_db
from .errors import BusinessError
from .runtime import get_runtime
from .settings import get_settings

HALL_TIME = timezone(timedelta(hours=8))  # the hall prints and shows Beijing time whatever the server's zone
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U (misread or rude)
SIGNATURE_CHARS = 19  # 95 bits
CODE_CHARS = 1 + SIGNATURE_CHARS
GROUP = 4
# The letter that opens a code names the service that issued (and stores) it.
ISSUERS = {"P": "payment", "E": "employer", "M": "member"}
TABLE = "print_verifications"
# Read as typed: lower case, spaces and dashes, and the letters Crockford reads as digits.
_TYPED = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SHAPE = re.compile(f"^[{ALPHABET}]{{{CODE_CHARS}}}$")

EMPTY = "请输入验证码"
BAD_FORMAT = f"验证码格式不正确：应为{CODE_CHARS}位字母或数字（如 PXXX-XXXX-XXXX-XXXX-XXXX）"
NOT_FOUND = "该验证码对应的文件不存在或已被篡改，请核对验证码后重新输入"


class PrintVerificationMixin:
    """One issued document: what the verify page shows, stored once by the service that printed it."""

    __tablename__ = TABLE
    code: Mapped[str] = mapped_column(String(CODE_CHARS), primary_key=True)
    employer_no: Mapped[str] = mapped_column(String(20), index=True)
    employer_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    period: Mapped[str] = mapped_column(String(100))
    totals: Mapped[str] = mapped_column(Text)  # JSON [[label, value], ...] in printed order
    issued_at: Mapped[datetime] = mapped_column(DateTime)  # UTC, whole seconds


def normalize(typed: str) -> str:
    """The code as issued, from what a person typed or a QR code carried; BusinessError (422) otherwise."""
    if len(typed) > 4 * CODE_CHARS:  # refused before any work: a form may send megabytes
        raise BusinessError(BAD_FORMAT, 422)
    code = re.sub(r"[\s\-]", "", typed).upper().translate(_TYPED)
    if not code:
        raise BusinessError(EMPTY, 422)
    if not _SHAPE.match(code) or code[0] not in ISSUERS:
        raise BusinessError(BAD_FORMAT, 422)
    return code


def display(code: str) -> str:
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def issuer(code: str) -> str:
    """The service that stores the content of a normalized code."""
    return ISSUERS[code[0]]


def verify_url(code: str) -> str:
    """What the printed QR code opens."""
    return f"{get_settings().public_url}/verify?code={quote(display(code))}"


def sign(tag: str, content: dict[str, Any]) -> str:
    """The code of this content issued by the service ``tag``."""
    canonical = json.dumps({"issuer": tag, **content}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = hmac.new(signing_key(), canonical.encode(), hashlib.sha256).digest()
    bits = int.from_bytes(digest, "big") >> (len(digest) * 8 - SIGNATURE_CHARS * 5)
    chars = [ALPHABET[(bits >> (5 * i)) & 31] for i in reversed(range(SIGNATURE_CHARS))]
    return tag + "".join(chars)


def content_of(employer_no: str, employer_name: str, kind: str, period: str, totals: list[tuple[str, str]],
               issued_at: datetime) -> dict[str, Any]:
    """What the signature covers: the stored row's fields, the issue time to the second in UTC."""
    return {"employer_no": employer_no, "employer_name": employer_name, "kind": kind, "period": period,
            "totals": [[label, value] for label, value in totals],
            "issued_at": issued_at.replace(tzinfo=None, microsecond=0).isoformat()}


def own_tag() -> str:
    name = get_runtime().name
    for tag, service in ISSUERS.items():
        if service == name:
            return tag
    raise RuntimeError(f"the {name} service issues no verifiable prints (hall_common.verify.ISSUERS)")


def _table() -> Table:
    table = get_runtime().base.metadata.tables.get(TABLE)
    if table is None:
        raise RuntimeError(f"the {get_runtime().name} service has no {TABLE} table (PrintVerificationMixin)")
    return table


def code_for(content: dict[str, Any]) -> str:
    """The code this service issues for this content (the same content in the same second: the same code)."""
    return sign(own_tag(), content)


def record(code: str, content: dict[str, Any]) -> None:
    """Store what the code stands for, once the print carrying it exists. Committed on a connection of
    its own, so a print inside a read-only request needs no commit of the caller's session; the same
    code again stores nothing (a unique insert)."""
    table = _table()
    row = {**content, "code": code, "totals": json.dumps(content["totals"], ensure_ascii=False),
           "issued_at": datetime.fromisoformat(content["issued_at"])}
    engine = get_db().engine
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    with engine.begin() as connection:
        connection.execute(insert(table).values(row).on_conflict_do_nothing(index_elements=["code"]))


def lookup(code: str) -> dict[str, Any] | None:
    """The document a normalized code was issued for, or None: unknown here, or its row altered."""
    if code[0] != own_tag():
        return None
    table = _table()
    with get_db().engine.connect() as connection:
        row = connection.execute(select(table).where(table.c.code == code)).mappings().first()
    if row is None:
        return None
    totals = [(str(label), str(value)) for label, value in json.loads(row["totals"])]
    content = content_of(row["employer_no"], row["employer_name"], row["kind"], row["period"], totals,
                         row["issued_at"])
    if not hmac.compare_digest(sign(code[0], content), code):
        return None
    return {"code": display(code), "employer_no": row["employer_no"], "employer_name": row["employer_name"],
            "kind": row["kind"], "period": row["period"],
            "totals": [{"label": label, "value": value} for label, value in totals],
            "issued_at": row["issued_at"].replace(tzinfo=UTC)}


def key_path() -> Path:
    settings = get_settings()
    return Path(settings.print_signing_key_file) if settings.print_signing_key_file \
        else settings.var_path / "print_signing_key"


def signing_key() -> bytes:
    return _load_key(str(key_path()))


@lru_cache(maxsize=4)
def _load_key(path: str) -> bytes:
    target = Path(path)
    if not target.exists():
        _create_key(target)
    key = bytes.fromhex(target.read_text().strip())
    if len(key) < 32:
        raise RuntimeError(f"{target}: the print signing key must hold at least 32 bytes (64 hex digits)")
    return key


def _create_key(target: Path) -> None:
    """A new key, written whole before it appears (link refuses to replace one another process just made)."""
    draft = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    try:
        os.link(draft, target)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
