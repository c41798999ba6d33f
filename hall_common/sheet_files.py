"""What an uploaded file is, decided from its bytes before any spreadsheet library parses it.

An upload is refused as a whole (``ImportRefused``, 422, a Chinese message the operator can act on)
when it is empty or too large, not an xlsx (an old .xls, a CSV, a renamed text or another zip), an
encrypted workbook (Excel wraps those in an OLE2 container), a broken zip, or a zip bomb: the declared
uncompressed sizes and each member's compression ratio are bounded before anything is inflated, and
every member is then read once through ``zipfile`` within its declared size, whose CRC check catches a
member that declares less than it holds.

Formulas: calamine returns only a formula's cached value (often empty, or stale), so the cells
holding one are found in the worksheet XML; the XML is parsed only when it contains ``<f``.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree import ElementTree

from .errors import BusinessError

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# Excel's encrypted OOXML: an OLE2 container holding these streams (directory names are UTF-16LE).
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
MAX_MEMBERS = 1000
# Members this small cannot make a bomb whatever their ratio (styles compress very well).
RATIO_FLOOR_BYTES = 1024 * 1024
INSTRUCTION_SHEETS = frozenset({"填写说明", "错误说明"})

NOT_XLSX = "文件不是有效的xlsx格式（请使用下载的模板，另存为Excel工作簿 .xlsx）"
ENCRYPTED = "文件已加密，请取消密码保护后上传"
BROKEN = "文件已损坏，无法读取（请重新另存为Excel工作簿 .xlsx 后上传）"
BOMB = "文件内容异常（压缩数据过大），已拒绝"
EMPTY = "文件为空，请选择填写好的模板文件"

_REF = re.compile(r"([A-Z]+)(\d+)")


class ImportRefused(BusinessError):
    """The whole file is refused: nothing of it is read or stored."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message, status)


@dataclass(frozen=True)
class Workbook:
    """The checked upload: the sheet to read (by name) and its formula cells (0-based row, column)."""

    sheet_name: str
    formulas: frozenset[tuple[int, int]]


def size_text(limit: int) -> str:
    """A byte limit as people say it: 10MB, 512KB."""
    mb, kb = 1024 * 1024, 1024
    if limit >= mb:
        return f"{limit / mb:g}MB"
    if limit >= kb:
        return f"{limit / kb:g}KB"
    return f"{limit}字节"


def inspect(data: bytes, *, max_bytes: int, max_unpacked_bytes: int, max_ratio: int) -> Workbook:
    """Refuse what is not a plain, sound, reasonably sized xlsx; name its data sheet and formula cells."""
    if not data:
        raise ImportRefused(EMPTY)
    if len(data) > max_bytes:
        raise ImportRefused(f"文件超过{size_text(max_bytes)}，请拆分后分批导入")
    if data.startswith(OLE2_MAGIC):
        raise ImportRefused(ENCRYPTED if ENCRYPTED_STREAM in data else NOT_XLSX)
    if not data.startswith(ZIP_MAGIC):
        raise ImportRefused(NOT_XLSX)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise ImportRefused(BROKEN) from exc
    with archive:
        _check_sizes(archive.infolist(), max_unpacked_bytes, max_ratio)
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            raise ImportRefused(NOT_XLSX)
        try:
            sheet_name, sheet_path = _data_sheet(archive, names)
            formulas = formula_cells(_verify_members(archive, sheet_path))
        except (zipfile.BadZipFile, zlib.error, ElementTree.ParseError, KeyError, ValueError, EOFError,
                OSError, NotImplementedError) as exc:
            raise ImportRefused(BROKEN) from exc
    return Workbook(sheet_name, formulas)


def _check_sizes(members: list[zipfile.ZipInfo], max_unpacked_bytes: int, max_ratio: int) -> None:
    if len(members) > MAX_MEMBERS:
        raise ImportRefused(BOMB)
    if any(m.flag_bits & 0x1 for m in members):  # a password-protected zip
        raise ImportRefused(ENCRYPTED)
    if sum(m.file_size for m in members) > max_unpacked_bytes:
        raise ImportRefused(BOMB)
    for member in members:
        if member.file_size > RATIO_FLOOR_BYTES and member.file_size > max_ratio * max(member.compress_size, 1):
            raise ImportRefused(BOMB)


def _verify_members(archive: zipfile.ZipFile, sheet_path: str | None) -> bytes:
    """Inflate every member within its declared size: zipfile stops there and the CRC then fails for a
    member that declared less than it holds, so the parser after us never inflates more than checked.
    Returns the data sheet's XML (read in the same pass)."""
    sheet = b""
    for member in archive.infolist():
        if member.filename == sheet_path:
            sheet = archive.read(member)
            continue
        with archive.open(member) as stream:
            while stream.read(1 << 20):
                pass
    return sheet


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _data_sheet(archive: zipfile.ZipFile, names: set[str]) -> tuple[str, str | None]:
    """The first worksheet that is not an instruction sheet, and its part's path."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheets = [(e.get("name") or "", _rel_id(e)) for e in workbook.iter() if _local(e.tag) == "sheet"]
    if not sheets:
        raise ImportRefused(NOT_XLSX)
    name, rel_id = next(((n, r) for n, r in sheets if n not in INSTRUCTION_SHEETS), sheets[0])
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {e.get("Id") or "": e.get("Target") or "" for e in rels.iter() if _local(e.tag) == "Relationship"}
    target = targets.get(rel_id or "", "")
    path = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return name, (path if target and path in names else None)


def _rel_id(element: ElementTree.Element) -> str | None:
    return next((v for k, v in element.attrib.items() if _local(k) == "id"), None)


def formula_cells(sheet_xml: bytes) -> frozenset[tuple[int, int]]:
    """(0-based row, 0-based column) of every cell holding a formula (shared formulas included)."""
    if b"<f" not in sheet_xml and b":f>" not in sheet_xml and b":f " not in sheet_xml:
        return frozenset()
    found: set[tuple[int, int]] = set()
    row, col = -1, -1
    for event, element in ElementTree.iterparse(io.BytesIO(sheet_xml), events=("start", "end")):
        name = _local(element.tag)
        if event == "start":
            if name == "row":
                r = element.get("r")
                row, col = (int(r) - 1 if r else row + 1), -1
            elif name == "c":
                ref = _REF.fullmatch(element.get("r") or "")
                col = _column_index(ref.group(1)) if ref else col + 1
                if ref:
                    row = int(ref.group(2)) - 1
            continue
        if name == "c":
            if any(_local(child.tag) == "f" for child in element):
                found.add((row, col))
            element.clear()
        elif name == "row":
            element.clear()
    return frozenset(found)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1
