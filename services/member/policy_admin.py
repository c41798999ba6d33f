"""The center's policy versions (政策参数): listed, added, and edited or deleted while still in the future.

A version in force or past is never edited: the businesses checked against it and the amounts they
stored must keep meaning what they meant, so a change is a new version from a later date. Every
change is audited with the version before and after, in the change's own transaction; each edit or
delete is one conditional statement (still future, still as read), so neither a concurrent edit nor
the day the version takes effect can slip between the check and the write.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from hall_common import audit, db
from hall_common.errors import BusinessError

from .models import AuditRecord, PolicyVersion
from .policy import in_force
from .schemas_policy import PLACES, RATE_FIELDS, RATIO_FIELDS, ROUNDINGS

MISSING = "政策参数版本不存在"
NOT_FUTURE = "该版本已生效，已生效或已失效的政策参数不得修改或删除，请新增一个版本"
EFFECTIVE_NOT_FUTURE = "生效日期应晚于今天：已生效的政策参数不得修改，调整请新增一个以后日期生效的版本"
CHANGED = "该版本已被他人修改，请刷新后重试"
STATE_NAMES = {"future": "未生效", "in_force": "生效中", "past": "已失效"}
PERCENT = Decimal(100)
# The table's column of each percent field of the API, and the places the column keeps.
COLUMNS = {"employer_ratio_min_pct": ("employer_ratio_min", Decimal("0.0001")),
           "employer_ratio_max_pct": ("employer_ratio_max", Decimal("0.0001")),
           "personal_ratio_min_pct": ("personal_ratio_min", Decimal("0.0001")),
           "personal_ratio_max_pct": ("personal_ratio_max", Decimal("0.0001")),
           "current_rate_pct": ("current_rate", Decimal("0.000001")),
           "carried_rate_pct": ("carried_rate", Decimal("0.000001"))}
assert set(COLUMNS) == {k for k, _ in (*RATIO_FIELDS, *RATE_FIELDS)}
MONEY = ("base_min", "base_max", "amount_min", "amount_max")


def today() -> date:
    return date.today()


def _in_force_from(on: date) -> date | None:
    """The effective date of the version in force on ``on``."""
    return db.session().scalar(select(func.max(PolicyVersion.effective_from)).where(PolicyVersion.effective_from <= on))


def _state(row: PolicyVersion, on: date, current: date | None) -> str:
    if row.effective_from > on:
        return "future"
    return "in_force" if row.effective_from == current else "past"


def figures(row: PolicyVersion) -> dict[str, Any]:
    """The version as the API speaks it (percents), also what the audit records before and after."""
    values: dict[str, Any] = {"effective_from": row.effective_from.isoformat(),
                              **{key: f"{getattr(row, key):.2f}" for key in MONEY}}
    for key, (column, _) in COLUMNS.items():
        values[key] = f"{(getattr(row, column) * PERCENT).normalize():f}"
    values.update(amount_places=row.amount_places, rounding=row.rounding, note=row.note)
    return values


def view(row: PolicyVersion, on: date | None = None, current: date | None = None) -> dict[str, Any]:
    """The version with its state on ``on`` (today); ``current``: the in-force version's date, if known."""
    day = on or today()
    state = _state(row, day, current or _in_force_from(day))
    return {
        **figures(row), "id": row.id, "effective_from": row.effective_from,
        "amount_places_name": PLACES.get(row.amount_places, row.amount_places),
        "rounding_name": ROUNDINGS.get(row.rounding, row.rounding),
        "state": state, "state_name": STATE_NAMES[state], "editable": state == "future",
        "created_by": row.created_by, "created_at": row.created_at, "updated_at": row.updated_at,
    }


def list_versions(page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """Newest effective date first; a center keeps a few versions a year, still paged."""
    session = db.session()
    total = session.scalar(select(func.count()).select_from(PolicyVersion)) or 0
    rows = session.scalars(select(PolicyVersion).order_by(PolicyVersion.effective_from.desc())
                           .offset((page - 1) * per_page).limit(per_page))
    on = today()
    current = _in_force_from(on)  # once for the page, not once a row
    return [view(r, on, current) for r in rows], total


def get_version(version_id: int) -> dict[str, Any]:
    return view(_row(version_id))


def in_force_view(on: date | None) -> dict[str, Any]:
    """The version in force on ``on`` (today if not given); 422 with NO_POLICY when none is."""
    day = on or today()
    policy = in_force(day)
    row = db.session().scalar(select(PolicyVersion).where(PolicyVersion.effective_from == policy.effective_from))
    assert row is not None
    return view(row, day)


def _row(version_id: int) -> PolicyVersion:
    row = db.session().get(PolicyVersion, version_id)
    if row is None:
        raise BusinessError(MISSING, 404)
    return row


def _columns(data: dict[str, Any]) -> dict[str, Any]:
    if data["effective_from"] <= today():
        raise BusinessError(EFFECTIVE_NOT_FUTURE, 422, {"json": {"effective_from": [EFFECTIVE_NOT_FUTURE]}})
    values = {key: data[key] for key in ("effective_from", *MONEY, "amount_places", "rounding", "note")}
    for key, (column, places) in COLUMNS.items():
        values[column] = (data[key] / PERCENT).quantize(places)
    return values


def _audit(actor: str, action: str, row_date: date, detail: str, before: Any = None, after: Any = None) -> None:
    audit.record(db.session(), AuditRecord, actor, action, f"政策参数 {row_date.isoformat()}", detail=detail,
                 before=before, after=after)


def _taken(day: date) -> BusinessError:
    text = f"生效日期 {day.isoformat()} 已有政策参数版本"
    return BusinessError(text, 409, {"json": {"effective_from": [text]}})


def create_version(actor: str, data: dict[str, Any]) -> dict[str, Any]:
    values = _columns(data)
    session = db.session()
    if session.scalar(select(PolicyVersion.id).where(PolicyVersion.effective_from == values["effective_from"])):
        raise _taken(values["effective_from"])
    row = PolicyVersion(**values, created_by=actor[:50], created_at=db.utcnow(), updated_at=db.utcnow())
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # the same date added by a concurrent request: the unique key decides
        session.rollback()
        raise _taken(values["effective_from"]) from exc
    _audit(actor, "policy_create", row.effective_from, "新增政策参数版本", after=figures(row))
    session.commit()
    return view(row)


def _refuse_unchanged(version_id: int) -> BusinessError:
    """Why a conditional edit or delete changed nothing: gone, in force by now, or edited meanwhile."""
    db.session().rollback()
    row = db.session().get(PolicyVersion, version_id)
    if row is None:
        return BusinessError(MISSING, 404)
    if row.effective_from <= today():
        return BusinessError(NOT_FUTURE, 409)
    return BusinessError(CHANGED, 409)


def update_version(actor: str, version_id: int, data: dict[str, Any]) -> dict[str, Any]:
    session = db.session()
    row = _row(version_id)
    if row.effective_from <= today():
        raise BusinessError(NOT_FUTURE, 409)
    before, read_at = figures(row), row.updated_at
    values = _columns(data)
    try:
        done = cast(CursorResult[Any], session.execute(update(PolicyVersion).where(
            PolicyVersion.id == version_id, PolicyVersion.effective_from > today(),
            PolicyVersion.updated_at == read_at).values(**values, updated_at=db.utcnow()))).rowcount
    except IntegrityError as exc:
        session.rollback()
        raise _taken(values["effective_from"]) from exc
    if done != 1:
        raise _refuse_unchanged(version_id)
    session.expire(row)
    after = figures(row)
    _audit(actor, "policy_update", row.effective_from, "修改未生效的政策参数版本", before=before, after=after)
    session.commit()
    return view(row)


def delete_version(actor: str, version_id: int) -> None:
    session = db.session()
    row = _row(version_id)
    if row.effective_from <= today():
        raise BusinessError(NOT_FUTURE, 409)
    before, day = figures(row), row.effective_from
    done = cast(CursorResult[Any], session.execute(delete(PolicyVersion).where(
        PolicyVersion.id == version_id, PolicyVersion.effective_from > today(),
        PolicyVersion.updated_at == row.updated_at))).rowcount
    if done != 1:
        raise _refuse_unchanged(version_id)
    session.expunge(row)
    _audit(actor, "policy_delete", day, "删除未生效的政策参数版本", before=before)
    session.commit()
