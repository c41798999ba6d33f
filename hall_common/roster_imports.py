"""Batch import into a roster: upload, check, stage, then add (or let the operator choose).

The uploaded workbook is kept with its import until the import is settled (a failed one drops it at
once): a small one is checked in the request, a large one (``import_inline_bytes``) by a job on the
heavy queue whose progress the page polls (the import row carries it, so a reload finds it again).
Good rows are staged as invisible roster rows; when the file has no error they join the roster at once,
otherwise the operator reads the errors (on the page, or in the marked copy of the workbook) and either
adds only the good rows or discards the import and uploads a fixed file. Nothing is added from a file
with errors unless the operator says so.

Every move of an import is a conditional update on its status: a redelivered job, a double click on
接受 or 放弃, or a job racing a discard changes it once.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError

from . import db
from .celery_app import HEAVY_QUEUE, get_heavy_celery
from .errors import BusinessError
from .roster import RosterBook, RosterType, chunks
from .roster_models import (
    ADDED,
    CHECKED,
    DISCARDED,
    FAILED,
    IMPORT_STATUS_NAMES,
    QUEUED,
    RUNNING,
    UNSETTLED,
)
from .security import Principal
from .settings import get_settings
from .sheets import ImportRefused, RowError, build_template, marked_workbook, read_upload

log = logging.getLogger(__name__)
_pause_lock = threading.Lock()
_pauses = 0
_resume = False
MISSING = "导入记录不存在"
ERRORS_SHOWN = 500
CHECK_CHUNK = 5000  # rows per check call: the progress counts in these steps
# A step is stored when this long has passed since the last (the page asks every second): on SQLite each
# store rewrites the whole import row, its uploaded file included (20 x 3 MB for the largest file).
PROGRESS_SECONDS = 0.5
BUSY = "上一次导入尚未处理完毕，请先处理（导入正确数据或放弃）后再上传"
CHANGED = "清册在导入期间发生变化，请重新上传"
# A failed import keeps no file (not a bomb or a 10 MB file for a week until housekeeping): nothing
# reads it again (its page shows the message; it has no errors, so no marked copy).
NO_FILE = b""
# Columns a file may have beyond its template's (the marked copy's 错误原因, a note or two). calamine
# reads a sheet as a dense grid, rows by columns: 150,000 rows 50 columns wide, 7 MB zipped, took
# 600 MB and a minute to read before its rows were refused (tests/integration/test_hostile_files.py).
EXTRA_COLUMNS = 4


def template(book: RosterBook, type_: str, option: str) -> tuple[bytes, str]:
    roster = book.get(type_)
    title = book.form(type_)["title"]
    fixed = {}
    if roster.import_option is not None:
        option = _option(roster, option)
        fixed[roster.import_option.label] = dict(roster.import_option.choices)[option]
    return build_template(title, roster.columns_for(option), roster.instructions, fixed), f"{title}导入模板.xlsx"


def _option(roster: RosterType, option: str) -> str:
    if roster.import_option is None:
        return ""
    option = option or roster.import_option.default
    if option not in dict(roster.import_option.choices):
        raise BusinessError(f"{roster.import_option.label}不正确", 422, {"query": {"option": ["选项不正确"]}})
    return option


def start(book: RosterBook, principal: Principal, employer_no: str, type_: str, option: str, data: bytes,
          file_name: str) -> Any:
    """Store the upload and check it now (a small file) or queue the job (a large one)."""
    roster = book.get(type_)
    option = _option(roster, option)
    settings = get_settings()
    if not data:
        raise BusinessError("请选择需上传的文件", 422)
    if len(data) > settings.import_max_bytes:
        raise BusinessError(f"文件超过{settings.import_max_bytes // (1024 * 1024)}MB，请分批导入", 422)
    model = book.models.import_
    session = db.session()
    if session.scalar(select(model.id).where(model.employer_no == employer_no, model.business_type == type_,
                                             model.status.in_(UNSETTLED))) is not None:
        raise BusinessError(BUSY, 409)
    record = model(employer_no=employer_no, business_type=type_, option=option, file_name=file_name[:200],
                   content=data, created_by=principal.display_name)
    session.add(record)
    try:
        session.commit()
    except IntegrityError as exc:  # another operator's upload became the roster's unsettled import a moment ago
        session.rollback()
        raise BusinessError(BUSY, 409) from exc
    if len(data) <= settings.import_inline_bytes:
        run(book, record.id)
    else:
        enqueue(book, record.id)
    return session.get(model, record.id, populate_existing=True)


def enqueue(book: RosterBook, import_id: int) -> None:
    """Hand the import to the heavy worker. If Redis is down the import stays queued and the
    housekeeping pass sends it again (``requeue_stale``): never lost."""
    try:
        get_heavy_celery().send_task(f"{book.owner}.roster_import", args=[import_id], queue=HEAVY_QUEUE)
    except Exception:  # noqa: BLE001 - the broker's errors vary; housekeeping retries
        log.warning("import %s could not be queued now; housekeeping will queue it", import_id, exc_info=True)


def requeue_stale(book: RosterBook, older_than: timedelta = timedelta(minutes=5)) -> int:
    model = book.models.import_
    cutoff = db.utcnow() - older_than
    ids = list(db.session().scalars(select(model.id).where(model.status.in_((QUEUED, RUNNING)),
                                                          model.updated_at < cutoff)))
    for import_id in ids:
        enqueue(book, import_id)
    return len(ids)


def _move(book: RosterBook, import_id: int, from_states: tuple[str, ...], **values: Any) -> bool:
    model = book.models.import_
    moved = db.session().execute(update(model).where(model.id == import_id, model.status.in_(from_states))
                                 .values(updated_at=db.utcnow(), **values).execution_options(synchronize_session=False))
    return cast(CursorResult[Any], moved).rowcount == 1


def run(book: RosterBook, import_id: int) -> None:
    """Check the file and stage its good rows. Runs again from the start after a crash (the job is
    delivered again): the rows a killed run staged are removed first."""
    with collector_paused():
        _run(book, import_id)


def _run(book: RosterBook, import_id: int) -> None:
    session = db.session()
    model, row = book.models.import_, book.models.row
    if not _move(book, import_id, (QUEUED, RUNNING), status=RUNNING, done=0):
        session.rollback()
        return  # settled already: a late redelivery
    session.execute(delete(row).where(row.import_id == import_id))
    session.commit()
    record = session.get(model, import_id, populate_existing=True)
    assert record is not None  # it was just moved
    roster = book.get(record.business_type)
    settings = get_settings()
    try:
        columns = roster.columns_for(record.option)
        rows = read_upload(record.content, columns, max_bytes=settings.import_max_bytes,
                           max_rows=settings.import_max_rows, max_columns=len(columns) + EXTRA_COLUMNS)
    except ImportRefused as exc:
        _move(book, import_id, (RUNNING,), status=FAILED, message=exc.message, content=NO_FILE)
        session.commit()
        return
    _move(book, import_id, (RUNNING,), total=len(rows))
    session.commit()
    errors: list[RowError] = []
    good: list[tuple[int, str, dict[str, Any]]] = []
    memo: dict[str, Any] = {}
    shown = time.monotonic()
    for start_at in range(0, len(rows), CHECK_CHUNK):
        part = rows[start_at:start_at + CHECK_CHUNK]
        checked = roster.check(record.employer_no, record.option, part, memo)
        good.extend(checked.good)
        errors.extend(checked.errors)
        if time.monotonic() - shown >= PROGRESS_SECONDS:
            _move(book, import_id, (RUNNING,), done=start_at + len(part))
            session.commit()
            shown = time.monotonic()
    good, duplicates = _claims(book, record, roster, good)
    errors.extend(duplicates)
    errors.sort(key=lambda e: e.row)
    bad_rows = {e.row for e in errors}
    good = [g for g in good if g[0] not in bad_rows]
    try:
        # A clean file's rows go straight into the roster (one transaction with the status below);
        # a file with errors stages its good rows until the operator decides.
        _stage(book, record, good, staged=bool(errors))
    except IntegrityError:
        session.rollback()
        session.execute(delete(row).where(row.import_id == import_id))
        _move(book, import_id, (RUNNING,), status=FAILED, message=CHANGED, content=NO_FILE)
        session.commit()
        return
    values: dict[str, Any] = {"good": len(good), "bad": len(bad_rows), "done": len(rows),
                              "errors": json.dumps([[e.row, e.field, e.reason] for e in errors], ensure_ascii=False)}
    if errors:
        values.update(status=CHECKED, message=f"共{len(rows)}行，正确{len(good)}行，错误{len(bad_rows)}行")
        if len(record.content) > settings.import_inline_bytes:
            values["marked"] = marked_workbook(record.content, roster.columns_for(record.option), errors)
    elif not good:
        values.update(status=FAILED, message="文件中没有可导入的数据", content=NO_FILE)
    else:
        values.update(status=ADDED, message=f"导入成功，共{len(good)}行已录入清册")
    _move(book, import_id, (RUNNING,), **values)
    session.commit()


Good = list[tuple[int, str, dict[str, Any]]]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while an import runs (nested or in several threads at once: until
    the last one ends). A 100,000-row file makes millions of objects, none of them in a cycle, and the
    collector walked them all again and again: a quarter of the import's time (make bench)."""
    global _pauses, _resume
    with _pause_lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()


def _claims(book: RosterBook, record: Any, roster: RosterType, good: Good) -> tuple[Good, list[RowError]]:
    """A subject twice in the file, or already in a live row, is refused naming the row."""
    errors: list[RowError] = []
    first_row: dict[str, int] = {}
    label = next((f.label for f in roster.fields if f.key == roster.claim_field), roster.claim_field)
    label = next((c.label for c in roster.columns_for(record.option) if c.key == roster.claim_field), label)
    claims = list(map(itemgetter(1), good))
    held = book._claimed(record.employer_no, record.business_type, claims)
    if held.isdisjoint(claims) and len(set(claims)) == len(claims):
        return good, errors  # the usual file: each subject once, none in the roster already
    kept = []
    for row_no, claim, data in good:
        if claim in held:
            errors.append(RowError(row_no, label, roster.claimed(claim, data)))
        elif claim in first_row:
            errors.append(RowError(row_no, label, f"与第{first_row[claim]}行重复"))
        else:
            first_row[claim] = row_no
            kept.append((row_no, claim, data))
    return kept, errors


ROWS_PER_INSERT = 100  # 900 parameters a statement: within any SQLite's limit (999 before 3.32)
STAGE_COLUMNS = ("employer_no", "business_type", "import_id", "staged", "claim", "row_no", "data", "created_by",
                 "created_at")


def _stage(book: RosterBook, record: Any, good: list[tuple[int, str, dict[str, Any]]], staged: bool) -> None:
    """The good rows, staged: the driver's own executemany with the values as it takes them (the JSON
    text, the timestamp as SQLAlchemy writes it), not a bound-parameter round through SQLAlchemy per
    row, which was most of an import's time (make bench, 100,000 rows). Each statement inserts
    ``ROWS_PER_INSERT`` rows: sqlite3's executemany costs as much again per statement as SQLite's insert."""
    connection = db.session().connection()
    dialect = connection.dialect
    marks = ", ".join(["?"] * len(STAGE_COLUMNS) if dialect.paramstyle == "qmark" else ["%s"] * len(STAGE_COLUMNS))
    head = f"INSERT INTO {book.models.row.__tablename__} ({', '.join(STAGE_COLUMNS)}) VALUES "
    now = db.utcnow()
    stamp: Any = now.isoformat(sep=" ") if dialect.name == "sqlite" else now
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    # The record's attributes read once, not four ORM attribute reads per row.
    constants = {"employer_no": record.employer_no, "business_type": record.business_type, "import_id": record.id,
                 "staged": staged, "created_by": record.created_by, "created_at": stamp}
    columns = len(STAGE_COLUMNS)
    for part in chunks(good, 5000):
        count = len(part)
        varying = {"row_no": list(map(itemgetter(0), part)), "claim": list(map(itemgetter(1), part)),
                   "data": _json_texts(dumps, list(map(itemgetter(2), part)))}
        # The rows' values one after another, laid out a column at a time (slice assignment, no loop per row).
        values: list[Any] = [None] * (count * columns)
        for index, name in enumerate(STAGE_COLUMNS):
            values[index::columns] = varying[name] if name in varying else [constants[name]] * count
        width = columns * ROWS_PER_INSERT
        whole = len(values) // width * width
        if whole:
            connection.exec_driver_sql(head + ", ".join([f"({marks})"] * ROWS_PER_INSERT),
                                       [tuple(values[i:i + width]) for i in range(0, whole, width)])
        if whole < len(values):
            connection.exec_driver_sql(head + ", ".join([f"({marks})"] * ((len(values) - whole) // columns)),
                                       tuple(values[whole:]))


def _json_texts(encode: Callable[[Any], str], items: list[dict[str, Any]]) -> list[str]:
    """``[encode(item) for item in items]`` in one call of the encoder: the list's text cut between its
    items, when its only braces are theirs (then "},{" occurs only between two items, and a NUL only
    as an escape, never as a character)."""
    whole = encode(items)
    if items and whole.count("{") == len(items) == whole.count("}"):
        return whole[1:-1].replace("},{", "}\x00{").split("\x00")
    return list(map(encode, items))


def get(book: RosterBook, employer_no: str, import_id: int) -> Any:
    record = db.session().get(book.models.import_, import_id)
    if record is None or record.employer_no != employer_no:  # another employer's import looks missing
        raise BusinessError(MISSING, 404)
    return record


def current(book: RosterBook, employer_no: str, type_: str) -> Any | None:
    """The newest import of the roster, unless it was settled by the operator (added, discarded)."""
    book.get(type_)
    model = book.models.import_
    newest = db.session().scalar(select(model).where(model.employer_no == employer_no, model.business_type == type_)
                                 .order_by(model.id.desc()).limit(1))
    return newest if newest is not None and newest.status in (*UNSETTLED, FAILED) else None


def accept(book: RosterBook, employer_no: str, import_id: int) -> Any:
    """仅导入正确数据: the staged good rows join the roster."""
    record = get(book, employer_no, import_id)
    session = db.session()
    if not _move(book, import_id, (CHECKED,), status=ADDED, message=f"已将{record.good}行正确数据录入清册"):
        session.rollback()
        raise BusinessError("该导入已处理，请刷新后查看", 409)
    row = book.models.row
    session.execute(update(row).where(row.import_id == import_id, row.staged.is_(True)).values(staged=False))
    session.commit()
    return session.get(book.models.import_, import_id, populate_existing=True)


def discard(book: RosterBook, employer_no: str, import_id: int) -> Any:
    record = get(book, employer_no, import_id)
    session = db.session()
    if not _move(book, import_id, (*UNSETTLED, FAILED), status=DISCARDED, message="已放弃本次导入"):
        session.rollback()
        raise BusinessError("该导入已处理，请刷新后查看", 409)
    row = book.models.row
    session.execute(delete(row).where(row.import_id == record.id, row.staged.is_(True)))
    session.commit()
    return session.get(book.models.import_, import_id, populate_existing=True)


def marked(book: RosterBook, employer_no: str, import_id: int) -> tuple[bytes, str]:
    record = get(book, employer_no, import_id)
    errors = [RowError(r, f, reason) for r, f, reason in json.loads(record.errors)]
    if not errors:
        raise BusinessError("该导入没有错误数据", 404)
    columns = book.get(record.business_type).columns_for(record.option)
    content = record.marked or marked_workbook(record.content, columns, errors)
    return content, "错误标注_" + (record.file_name or "导入文件.xlsx")


def view(record: Any) -> dict[str, Any]:
    errors = json.loads(record.errors)
    return {
        "id": record.id, "business_type": record.business_type, "file_name": record.file_name,
        "option": record.option, "status": record.status, "status_name": IMPORT_STATUS_NAMES[record.status],
        "total": record.total, "done": record.done, "good": record.good, "bad": record.bad,
        "error_count": len(errors),
        "errors": [{"row": r, "field": f, "reason": reason} for r, f, reason in errors[:ERRORS_SHOWN]],
        "message": record.message, "created_by": record.created_by, "created_at": record.created_at,
    }


def housekeeping(book: RosterBook, keep: timedelta = timedelta(days=7)) -> None:
    """Re-queue imports whose job was lost; forget settled imports' files after a week; an import left
    checked for a day is discarded, so its staged rows do not hold their subjects forever."""
    session = db.session()
    requeue_stale(book)
    model, row = book.models.import_, book.models.row
    stale = list(session.scalars(select(model.id).where(model.status == CHECKED,
                                                        model.updated_at < db.utcnow() - timedelta(days=1))))
    for import_id in stale:
        if _move(book, import_id, (CHECKED,), status=DISCARDED, message="超过一天未处理，已自动放弃"):
            session.execute(delete(row).where(row.import_id == import_id, row.staged.is_(True)))
    session.execute(delete(model).where(model.status.in_((ADDED, DISCARDED, FAILED)),
                                        model.updated_at < db.utcnow() - keep))
    session.commit()
