"""What an uploaded file is, decided from its bytes before any spreadsheet library parses it.

An upload is refused as a whole (``ImportRefused``, 422, a Chinese message the operator can act on)
when it is empty or too large, not an xlsx (an old .xls, a CSV, a renamed text or another zip), an
encrypted workbook (Excel wraps those in an OLE2 container), a broken zip, or a zip bomb: the declared
uncompressed sizes and each member's compression ratio are bounded before anything is inflated, and
every member is then read once through ``zipfile`` within its declared size, whose CRC check catches a
member that declares less than it holds. A workbook linking outside itself (to another workbook, or a
data connection) is refused too: its cells may show values fetched from elsewhere, and an operator's
import has no business reaching out (Excel asks to update such links when the file is opened).

Formulas: calamine returns only a formula's cached value (often empty, or stale), so the cells
holding one are found in the worksheet XML; the XML is parsed only when it contains ``<f``. The
worksheet XML is read as a stream, never whole: it may inflate to a hundred times the upload.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import IO
from xml.etree import ElementTree

from .errors import BusinessError

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# Excel's encrypted OOXML: an OLE2 container holding these streams (directory names are UTF-16LE).
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
MAX_MEMBERS = 1000
# Members this small cannot make a bomb whatever their ratio (styles compress very well).
RATIO_FLOOR_BYTES = 1024 * 1024
SMALL_PART_BYTES = 1024 * 1024
CHUNK_BYTES = 1024 * 1024
INSTRUCTION_SHEETS = frozenset({"填写说明", "错误说明"})

NOT_XLSX = "文件不是有效的xlsx格式（请使用下载的模板，另存为Excel工作簿 .xlsx）"
ENCRYPTED = "文件已加密，请取消密码保护后上传"
BROKEN = "文件已损坏，无法读取（请重新另存为Excel工作簿 .xlsx 后上传）"
BOMB = "文件内容异常（压缩数据过大），已拒绝"
EMPTY = "文件为空，请选择填写好的模板文件"
EXTERNAL = "文件含有指向其他工作簿或外部数据的链接，请将数据以数值粘贴到下载的模板中后上传"
# The parts and relationship types of links outside the workbook (ECMA-376 part 1, 12.3.x).
EXTERNAL_PARTS = ("xl/externalLinks/", "xl/connections.xml")
EXTERNAL_TYPES = ("/externalLink", "/connections")

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


def inspect(data: bytes, *, max_bytes: int, max_unpacked_bytes: int, max_ratio: int, max_rows: int,
            max_columns: int) -> Workbook:
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
        if any(name.startswith(EXTERNAL_PARTS) for name in names):
            raise ImportRefused(EXTERNAL)
        try:
            sheet_name, sheet_path = _data_sheet(archive, names)
            if sheet_path is None:
                raise ImportRefused(NOT_XLSX)
            _verify_members(archive, sheet_path)
            formulas = _check_sheet(partial(archive.open, sheet_path), row_limit(max_rows), max_columns)
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


def _verify_members(archive: zipfile.ZipFile, sheet_path: str) -> None:
    """Inflate every member but the data sheet within its declared size: zipfile stops there and the CRC
    then fails for a member that declared less than it holds, so the parser after us never inflates
    more than checked. The sheet is read to its end the same way by ``_check_sheet``."""
    for member in archive.infolist():
        if member.filename != sheet_path:
            with archive.open(member) as stream:
                while stream.read(CHUNK_BYTES):
                    pass


def row_limit(max_rows: int) -> int:
    """The last sheet row allowed: the header, the data rows and some blank rows between them."""
    return max_rows + 1 + max(1000, max_rows // 2)


def check_extent(sheet_xml: bytes, max_row: int, max_column: int) -> None:
    """``_check_sheet`` of a sheet's XML in memory."""
    _check_sheet(partial(io.BytesIO, sheet_xml), max_row, max_column)


@dataclass
class _Scan:
    exact: bool = False  # the fast path cannot tell: the cells are walked
    too_wide: bool = False
    too_long: bool = False
    formulas: bool = False  # "<f" or ":f" occurs


def _check_sheet(open_sheet: Callable[[], IO[bytes]], max_row: int, max_column: int) -> frozenset[tuple[int, int]]:
    """Refuse a sheet reaching beyond max_row or max_column before calamine reads it: calamine holds a
    sheet as a dense grid from its first cell to its last, so a tiny file with a cell at XFD1048576
    would make it allocate 17 billion cells and abort the process. Returns the formula cells.

    The sheet is inflated a chunk at a time and never held whole: a million rows zip into 2 MB and
    inflate to 150 MB (tests/integration/test_hostile_files.py). One pass (``_scan``) decides the usual
    file; a sheet written unusually is walked again exactly, and one holding formulas is parsed again."""
    with open_sheet() as stream:
        scan = _scan(stream, max_row, max_column)
    if scan.exact:
        with open_sheet() as stream:
            last_row, last_column = _walk_extent(stream, max_row, max_column)
        scan.too_wide, scan.too_long = last_column + 1 > max_column, last_row + 1 > max_row
    if scan.too_wide:
        raise ImportRefused(f"文件列数超过{max_column}列，请使用下载的模板填写")
    if scan.too_long:
        raise ImportRefused(f"文件行数超过{max_row}行，请删除多余的空行或拆分后分批导入")
    if not scan.formulas:
        return frozenset()
    with open_sheet() as stream:
        return frozenset((row, col) for row, col, formula in _cells(stream) if formula)


def _scan(stream: IO[bytes], max_row: int, max_column: int) -> _Scan:
    """One pass over the sheet to its end (zipfile checks its size and CRC there), unless a cell beyond
    the limits ends it early.

    Fast path (Excel, WPS, LibreOffice, openpyxl, xlsxwriter): every cell tag starts ``<c r="`` and one
    regex search over sheetData finds the first tag that is beyond the limits or not ``<c r="``; the
    latter (prefixed tags, cells without a reference, placed by position) sends the sheet down the exact
    walk. Inside sheetData only cells' tags and rich-text run properties (<color>, <charset>) start
    "<c": a run property only sends the file down the exact path. A chunk is searched up to its last
    "<" (a tag holds none): the tag cut by the chunk's end is searched with the next chunk."""
    scan = _Scan()
    pattern = _extent_pattern(max_row, max_column)
    carry, state, first = b"", "before", True  # state: before sheetData, in it, after it
    while chunk := stream.read(CHUNK_BYTES):
        buffer = carry + chunk
        if first and b"<worksheet" not in buffer[:1000]:
            scan.exact, state = True, "after"
        first = False
        scan.formulas = scan.formulas or _may_hold_formulas(buffer)
        start, carry = 0, buffer[-16:]  # enough for "<sheetData" and "<f" cut in two
        if state == "before":
            start = buffer.find(b"<sheetData")
            state = "before" if start < 0 else "in"
        if state == "in":
            end = buffer.find(b"</sheetData>", start)
            limit = end if end >= 0 else max(buffer.rfind(b"<", start + 1), start)
            found = pattern.search(buffer, start, limit)
            if found is not None and found.group("other") is not None:
                scan.exact, state = True, "after"
            elif found is not None:
                scan.too_wide = found.group("wide") is not None
                scan.too_long = not scan.too_wide
                return scan  # refused: the rest is not read
            elif end >= 0:
                state = "after"
            else:
                carry = buffer[limit:]
    if state == "in":  # sheetData never closed: the walk finds the XML broken
        scan.exact = True
    return scan


@lru_cache(maxsize=32)
def _extent_pattern(max_row: int, max_column: int) -> re.Pattern[bytes]:
    """A cell tag whose reference is beyond the last column (group ``wide``) or the last row, or a tag
    "<c" not followed by ' r="' (``other``)."""
    letters = _greater_than(_column_letters(max_column), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    digits = _greater_than(str(max_row), "0123456789")
    return re.compile(f'<c(?: r="(?:(?P<wide>(?:{letters})[0-9])|[A-Z]+0*(?:{digits})")|(?P<other>(?! r=")))'
                      .encode())


def _greater_than(limit: str, alphabet: str) -> str:
    """A regex matching the strings over ``alphabet`` (no leading zero digit) that stand for a number
    above ``limit``: more places, or as many and larger at the first difference."""
    first = alphabet[1:] if alphabet[0] == "0" else alphabet
    any_of = f"[{re.escape(alphabet)}]"
    options = [f"[{re.escape(first)}]{any_of}{{{len(limit)},}}"]
    for index, char in enumerate(limit):
        higher = alphabet[alphabet.index(char) + 1:]
        if higher:
            rest = len(limit) - index - 1
            options.append(f"{re.escape(limit[:index])}[{re.escape(higher)}]{any_of}{{{rest}}}")
    return "|".join(options)


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _walk_extent(stream: IO[bytes], max_row: int, max_column: int) -> tuple[int, int]:
    """The last (0-based) row and column holding a cell, placed as calamine places them, up to the first
    cell beyond the limits: a million rows without references, 3 MB zipped, took a minute to walk whole."""
    last_row = last_column = -1
    for row, col, _ in _cells(stream):
        last_row, last_column = max(last_row, row), max(last_column, col)
        if row >= max_row or col >= max_column:
            break
    return last_row, last_column


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _data_sheet(archive: zipfile.ZipFile, names: set[str]) -> tuple[str, str | None]:
    """The first worksheet that is not an instruction sheet, and its part's path."""
    for part in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        if part in names and archive.getinfo(part).file_size > SMALL_PART_BYTES:
            raise ImportRefused(BOMB)  # a list of sheets is a few KB; these are parsed whole
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheets = [(e.get("name") or "", _rel_id(e)) for e in workbook.iter() if _local(e.tag) == "sheet"]
    if not sheets:
        raise ImportRefused(NOT_XLSX)
    name, rel_id = next(((n, r) for n, r in sheets if n not in INSTRUCTION_SHEETS), sheets[0])
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        rels = [e for e in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels")).iter()
                if _local(e.tag) == "Relationship"]
        # A link part under another name is still found by its relationship.
        if any((e.get("Type") or "").endswith(EXTERNAL_TYPES) or e.get("TargetMode") == "External" for e in rels):
            raise ImportRefused(EXTERNAL)
        targets = {e.get("Id") or "": e.get("Target") or "" for e in rels}
    target = targets.get(rel_id or "", "")
    path = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return name, (path if target and path in names else None)


def _rel_id(element: ElementTree.Element) -> str | None:
    return next((v for k, v in element.attrib.items() if _local(k) == "id"), None)


def _may_hold_formulas(sheet_xml: bytes) -> bool:
    """Whether "<f" or ":f" (a prefixed <x:f>) occurs. A sheet's XML holds few "f" bytes (UTF-8 text
    never makes one from other characters): each is looked at, which is quicker than two scans of a
    40 MB sheet for those pairs; a sheet full of them is scanned."""
    if sheet_xml.count(b"f") > 10_000:
        return b"<f" in sheet_xml or b":f" in sheet_xml
    at = sheet_xml.find(b"f", 1)
    while at != -1:
        if sheet_xml[at - 1] in b"<:":
            return True
        at = sheet_xml.find(b"f", at + 1)
    return False


def _cells(stream: IO[bytes]) -> Iterator[tuple[int, int, bool]]:
    """Every cell's (0-based row, 0-based column, holds a formula); a row or cell without its reference
    follows the previous one, as Excel and calamine read it."""
    row, col = -1, -1
    rows_parent: ElementTree.Element | None = None
    for event, element in ElementTree.iterparse(stream, events=("start", "end")):
        name = _local(element.tag)
        if event == "start":
            if name == "sheetData":
                rows_parent = element
            elif name == "row":
                r = element.get("r")
                row, col = (int(r) - 1 if r and r.isdigit() else row + 1), -1
            elif name == "c":
                ref = _REF.fullmatch(element.get("r") or "")
                col = _column_index(ref.group(1)) if ref else col + 1
                if ref:
                    row = int(ref.group(2)) - 1
            continue
        if name == "c":
            yield row, col, any(_local(child.tag) == "f" for child in element)
            element.clear()
        elif name == "row":
            # A cleared row still hangs in sheetData: 150,000 of them held 60 MB. Its cells are done.
            if rows_parent is not None:
                rows_parent.clear()
            element.clear()


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1
