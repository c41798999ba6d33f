"""缴存人登记 (manual ch. 8): the opening roster, checked by row, and 确认开户 applied once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from itertools import compress, repeat
from operator import contains
from typing import Any, cast

from sqlalchemy import insert, select

from hall_common import business_types, db, rowcheck
from hall_common.business import Column
from hall_common.outbox import emit
from hall_common.roster import Checked, FormField, ImportOption, RosterType, chunks
from hall_common.rowcheck import RESIDENT_ID, RowReader
from hall_common.sheets import RowError, SheetColumn

from .models import NORMAL, OPEN_STATUSES, OPENING, Contribution, Member, StatusChange
from .numbers import allocate
from .policy import NO_POLICY, all_within, month_policy, refusals

TYPE = "member_registration"
ID_TYPES = ("居民身份证", "军官证", "外国人永久居留证", "护照", "港澳台居民居住证")
# 选择缴存比例: one ratio for the employer and the member side (DOMAIN.md: each 5%-12%).
RATIOS = tuple((str(p), f"{p}%") for p in range(12, 4, -1))
RATIO_VALUES = tuple(v for v, _ in RATIOS)
DEFAULT_RATIO = "12"
# The cell's format bounds; the limits are the policy's of the first month (政策参数).
BASE_MIN, BASE_MAX = Decimal("0.01"), Decimal("99999999.99")
FIRST_MONTH_EARLIEST = "199101"
ALREADY_OPEN = "该证件号码已在本单位开户"
LOOKUP_ONE_BY_ONE = 100

FIELDS = (
    FormField("name", "姓名", max_length=50),
    FormField("id_type", "证件类型", "choice", tuple((t, t) for t in ID_TYPES), default=RESIDENT_ID),
    FormField("id_number", "证件号码", "id", max_length=18),
    FormField("base", "缴存基数", "money", max_length=15),
    FormField("ratio", "缴存比例", "choice", RATIOS, default=DEFAULT_RATIO),
    FormField("first_month", "首次缴存年月", "month", max_length=6),
    FormField("mobile", "手机号码", required=False, max_length=20),
)
COLUMNS = (
    SheetColumn("name", "姓名", note="不超过50个字"),
    SheetColumn("id_type", "证件类型", "choice", ID_TYPES, required=False, note="不填为居民身份证"),
    SheetColumn("id_number", "证件号码", "id", width=22, note="18位居民身份证号码，末位X大小写均可"),
    SheetColumn("base", "缴存基数", "money", note="单位：元，最多两位小数"),
    SheetColumn("first_month", "首次缴存年月", "month", note="格式YYYYMM，如202612"),
    SheetColumn("mobile", "手机号码", required=False, note="11位手机号或固定电话，选填"),
)
DISPLAY = (
    Column("name", "姓名"), Column("id_type", "证件类型"), Column("id_number", "证件号码"),
    Column("base", "缴存基数"), Column("ratio_text", "缴存比例"), Column("monthly_amount", "月缴存额"),
    Column("first_month", "首次缴存年月"), Column("mobile", "手机号码"),
)
LABELS = {f.key: f.label for f in FIELDS}
DATA_KEYS = ("name", "id_type", "id_number", "first_month", "mobile", "base", "ratio")  # a row's stored data
# A policy refusal's field (policy.Refusal.field) -> the row's field it names: the monthly amount and
# both ratios follow from the base and the one ratio a registration chooses.
REFUSED_FIELD = {"缴存基数": "base", "月缴存额": "base", "单位缴存比例": "ratio", "个人缴存比例": "ratio"}


def limit_errors(row_no: int, data: Mapping[str, Any]) -> list[RowError]:
    """The row's base and ratio against the policy of its first month, each refusal naming the member,
    the value and the bound."""
    policy = month_policy(data["first_month"])
    if policy is None:
        return [RowError(row_no, LABELS["first_month"], NO_POLICY)]
    ratio = rate(data)
    who = f"{data['name']}（{data['id_number']}）"
    return [RowError(row_no, LABELS[REFUSED_FIELD[r.field]], r.reason)
            for r in refusals(policy, who, Decimal(data["base"]), ratio, ratio)]


def _open_ids(employer_no: str, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(sorted(set(ids))):
        found.update(db.session().scalars(select(Member.id_number).where(
            Member.employer_no == employer_no, Member.id_number.in_(part), Member.status.in_(OPEN_STATUSES))))
    return found


def check(employer_no: str, option: str, rows: Sequence[tuple[int, Mapping[str, str]]],
          memo: dict[str, Any]) -> Checked:
    latest = f"{date.today().year + 1}12"
    plain = _plainly_good(rows, option or DEFAULT_RATIO, latest)
    errors: dict[int, list[RowError]] = {}  # by index; a row read by its reader may have none
    for index in [i for i, data in enumerate(plain) if data is None]:
        row_no, values = rows[index]
        plain[index], errors[index] = _read_row(row_no, values, option, latest)
    found = cast(list[dict[str, Any]], plain)  # every row's data now
    ids = [data["id_number"] for data in found]
    if len(rows) > LOOKUP_ONE_BY_ONE:  # an import: the employer's open IDs, read once for all its chunks
        if "open_ids" not in memo:
            memo["open_ids"] = set(db.session().scalars(select(Member.id_number).where(
                Member.employer_no == employer_no, Member.status.in_(OPEN_STATUSES))))
        already = memo["open_ids"]
    else:
        already = _open_ids(employer_no, [id_number for i, id_number in enumerate(ids) if not errors.get(i)])
    verdict = Checked()
    if not any(errors.values()) and already.isdisjoint(ids):  # the usual file: every row good
        verdict.good = list(zip([row_no for row_no, _ in rows], ids, found, strict=True))
        return verdict
    for index, ((row_no, _), data) in enumerate(zip(rows, found, strict=True)):
        failed = errors.get(index)
        if not failed and data["id_number"] in already:
            failed = [RowError(row_no, LABELS["id_number"], ALREADY_OPEN)]
        if failed:
            verdict.errors.extend(failed)
        else:
            verdict.good.append((row_no, data["id_number"], data))
    return verdict


def _read_row(row_no: int, values: Mapping[str, str], option: str,
              latest: str) -> tuple[dict[str, Any], list[RowError]]:
    reader = RowReader(row_no, values, LABELS)
    ratio = reader.choice("ratio", RATIO_VALUES, default=option or DEFAULT_RATIO)
    data: dict[str, Any] = {
        "name": reader.text("name", 50),
        "id_type": reader.choice("id_type", ID_TYPES, default=RESIDENT_ID),
    }
    data["id_number"] = reader.id_number("id_number", data["id_type"]) if data["id_type"] else ""
    base = reader.money("base", BASE_MIN, BASE_MAX)
    data["first_month"] = reader.month("first_month", FIRST_MONTH_EARLIEST, latest)
    data["mobile"] = reader.phone("mobile")
    if reader.ok and base is not None:
        data.update(base=f"{base:.2f}", ratio=ratio)
        reader.errors.extend(limit_errors(row_no, data))
    return data, reader.errors


def _plainly_good(rows: Sequence[tuple[int, Mapping[str, str]]], ratio_default: str,
                  latest: str) -> list[dict[str, Any] | None]:
    """Each row's data as ``_read_row`` makes it when the row has no error, read a column at a time
    (hall_common.rowcheck), or None: the row is read again by ``_read_row``, which finds its errors."""
    values = [v for _, v in rows]
    ratios = rowcheck.choice_column(rowcheck.column(values, "ratio"), RATIO_VALUES, ratio_default)
    names = rowcheck.text_column(rowcheck.column(values, "name"), 50)
    id_types = rowcheck.choice_column(rowcheck.column(values, "id_type"), ID_TYPES, RESIDENT_ID)
    id_values = rowcheck.column(values, "id_number")
    ids = rowcheck.resident_id_column(id_values)
    for index, id_type in enumerate(id_types):
        if id_type != RESIDENT_ID:
            ids[index] = rowcheck.code_id(id_values[index]) if id_type is not None else None
    bases = rowcheck.money_column(rowcheck.column(values, "base"), BASE_MIN, BASE_MAX)
    texts = (list(map(format, bases, repeat(".2f"))) if None not in bases
             else [None if base is None else f"{base:.2f}" for base in bases])
    months = rowcheck.month_column(rowcheck.column(values, "first_month"), FIRST_MONTH_EARLIEST, latest)
    mobiles = rowcheck.phone_column(rowcheck.column(values, "mobile"))
    # In _read_row's order (the stored JSON's), then whether the row is within its month's policy.
    found: list[Any] = list(zip(names, id_types, ids, months, mobiles, texts, ratios,
                                _within_policy(months, ratios, bases), strict=True))
    bad = list(map(contains, found, repeat(None)))
    found = list(map(dict, map(zip, repeat(DATA_KEYS), found)))  # zip drops the last, the policy's verdict
    for index in compress(range(len(found)), bad):
        found[index] = None
    return found


def _within_policy(months: list[str | None], ratios: list[str | None],
                   bases: list[Decimal | None]) -> list[bool | None]:
    """Per row: True when its base and ratio are within the policy of its first month (no refusal from
    ``limit_errors``), None when not or when one of them is missing."""
    keys = list(zip(months, ratios, strict=True))
    found: list[bool | None] = [None] * len(keys)
    for key in set(keys):
        month, ratio = key
        policy = None if month is None or ratio is None else month_policy(month)
        if policy is None:
            continue
        fraction = rate({"ratio": ratio})
        at = [i for i, k in enumerate(keys) if k == key and bases[i] is not None]
        for index, ok in zip(at, all_within(policy, [cast(Decimal, bases[i]) for i in at], fraction, fraction),
                             strict=True):
            found[index] = True if ok else None
    return found


def rate(data: Mapping[str, Any]) -> Decimal:
    """The row's ratio (a percentage, one for both sides) as the fraction the member stores."""
    return (Decimal(data["ratio"]) / 100).quantize(Decimal("0.0001"))


def amounts(data: Mapping[str, Any]) -> tuple[Decimal, Decimal, Decimal] | None:
    """The employer part, personal part and monthly amount by the policy of the first month."""
    policy = month_policy(data["first_month"])
    if policy is None:
        return None
    ratio = rate(data)
    return policy.monthly_amount(Decimal(data["base"]), ratio, ratio)


def derive(data: Mapping[str, Any]) -> dict[str, str]:
    figures = amounts(data)
    return {"ratio_text": f"{data['ratio']}%", "monthly_amount": f"{figures[2]:.2f}" if figures else ""}


def recheck(employer_no: str, rows: Sequence[Any]) -> list[RowError]:
    """确认开户 again against the members (one may have been registered since the row was added) and
    the policy (a version not yet in force may have been changed since)."""
    already = _open_ids(employer_no, [r.data["id_number"] for r in rows])
    errors = [RowError(index, "证件号码", f"{r.data['name']}（{r.data['id_number']}）{ALREADY_OPEN}")
              for index, r in enumerate(rows, start=1) if r.data["id_number"] in already]
    for index, r in enumerate(rows, start=1):
        errors.extend(limit_errors(index, r.data))
    return errors


def apply(batch: Any, rows: Sequence[Any]) -> None:
    """Open every member of the roster at once: numbers allocated in one step, each opening recorded in
    the status history. A row whose ID was opened meanwhile is marked, not opened twice."""
    session = db.session()
    already = _open_ids(batch.employer_no, [r.data["id_number"] for r in rows])
    figures = {r.id: amounts(r.data) for r in rows}
    to_open = [r for r in rows if r.data["id_number"] not in already and figures[r.id] is not None]
    for row in rows:
        if row.data["id_number"] in already:
            row.result = f"未开户：{ALREADY_OPEN}"
        elif figures[row.id] is None:  # the version of its month was deleted while in approval
            row.result = f"未开户：{NO_POLICY}"
    numbers = allocate(batch.employer_no, len(to_open))
    opened = (batch.decided_at or db.utcnow()).date()
    members, changes, terms = [], [], []
    for row, member_no in zip(to_open, numbers, strict=True):
        data = row.data
        employer_part, personal_part, _ = figures[row.id] or (Decimal(0), Decimal(0), Decimal(0))
        members.append({
            "member_no": member_no, "employer_no": batch.employer_no, "name": data["name"],
            "id_type": data["id_type"], "id_number": data["id_number"], "base": Decimal(data["base"]),
            "employer_ratio": rate(data), "personal_ratio": rate(data),
            "status": NORMAL, "open_date": opened, "mobile": data.get("mobile", ""),
            "first_month": data.get("first_month", ""),
            # Stored as the first month's policy rounded them: a later rule never rewrites what is owed.
            "employer_amount": employer_part, "personal_amount": personal_part,
        })
        terms.append({
            "employer_no": batch.employer_no, "member_no": member_no, "from_month": data["first_month"],
            "base": Decimal(data["base"]), "employer_ratio": rate(data), "personal_ratio": rate(data),
            "employer_amount": employer_part, "personal_amount": personal_part, "business_type": TYPE,
            "business_id": batch.id, "created_at": db.utcnow(),
        })
        changes.append({
            "employer_no": batch.employer_no, "member_no": member_no, "change_type": OPENING, "from_status": "",
            "to_status": NORMAL, "reason": "开户", "operator": batch.operator, "approver": batch.approver or "",
            "business_id": batch.id, "changed_at": batch.decided_at or db.utcnow(),
        })
        row.data = {**data, "member_no": member_no}
    for part in chunks(members, 2000):
        session.execute(insert(Member), list(part))
    for part in chunks(changes, 2000):
        session.execute(insert(StatusChange), list(part))
    for part in chunks(terms, 2000):
        session.execute(insert(Contribution), list(part))
    emit(session, "member.registered", outcome_data(batch, len(to_open)), subject=f"{TYPE}/{batch.id}")


def outcome_data(batch: Any, applied: int) -> dict[str, Any]:
    """A roster business's domain event: the key and counts; the rows stay here (GET /businesses/...)."""
    return {
        "employer_no": batch.employer_no,
        "employer_name": batch.employer_name,
        "business_type": batch.business_type,
        "business_id": str(batch.id),
        "title": business_types.resolve(batch.business_type).title,
        "summary": f"{applied}人",
        "row_count": batch.row_count,
        "applied": applied,
        "operator": batch.operator,
        "approver": batch.approver,
        "opinion": batch.opinion,
    }


REGISTRATION = RosterType(
    type=TYPE, fields=FIELDS, columns=COLUMNS, display=(*DISPLAY, Column("member_no", "个人账号")),
    check=check, recheck=recheck, apply=apply, claim_label="该证件号码", claim_field="id_number",
    entry_message="开户清册录入成功", commit_label="确认开户", commit_message="已确认开户，开户结果将以消息通知",
    import_option=ImportOption("ratio", "缴存比例", RATIOS, DEFAULT_RATIO),
    instructions=("第一行为表头，请勿修改；从第二行起每行填写一名缴存人。",
                  "证件号码、首次缴存年月请以文本格式填写（模板已设置）。",
                  "缴存比例在上传前选择，对单位和个人部分同时适用。"),
    rows_caption="开户清册",
    derive=derive,
)
