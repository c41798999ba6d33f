"""基数调整 (manual ch. 4): a member's base, monthly amount or ratios changed from an effective month,
checked against the policy of that month, filed as a roster (single entry, the batch-edit grid, import)
and applied once on approval.

A row stores what the approver and the employer see: the member's name and ID, the old figures and the
new ones computed with the effective month's policy (a new amount gives the base, new ratios the amount),
so the roster shows the result before 保存. A member is in at most one live row (draft, staged import or
business in approval): the roster's claim is the member number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update

from hall_common import db
from hall_common.business import Column
from hall_common.outbox import emit
from hall_common.roster import Checked, FormField, ImportOption, RosterType, chunks
from hall_common.rowcheck import RowReader
from hall_common.sheets import RowError, SheetColumn

from . import adjust_figures as figures
from .models import NORMAL, STATUS_NAMES, Contribution, InfoChange, Member
from .policy import Policy, month_policy, refusals
from .registration import outcome_data
from .statuses import MISSING, members_by_number

TYPE = "base_adjustment"
CATEGORIES = (("base", "个人缴存基数"), ("amount", "月缴存额"), ("ratio", "缴存比例"))
CATEGORY_NAMES = dict(CATEGORIES)
# The value each category is entered by (the other figures follow from it).
ENTERED = {"base": ("base",), "amount": ("amount",), "ratio": ("employer_ratio", "personal_ratio")}
PENDING = "已提交审核但未审批的业务，不得重复提交"
ONLY_NORMAL = "只有正常状态的缴存人可以办理基数调整"
UNCHANGED = "调整后的数值与当前相同，无需调整"
# The new terms start at the effective month; one before the member's current terms began would be
# overridden by them from their month on (the terms of month M are the latest from_month <= M).
BEFORE_TERMS = "的生效年月{month}早于其现行缴存基数的起始年月{since}"
NO_POLICY = "该年月无生效的政策参数，请联系公积金中心"
# Loose bounds of a typed figure; the policy of the effective month gives the real ones.
MONEY_MIN, MONEY_MAX = Decimal("0.01"), Decimal("9999999.99")
MONTHS_BACK = 12  # an adjustment may take effect up to a year back

LABELS = {"member_no": "个人账号", "name": "姓名", "id_number": "证件号码", "category": "变更类别",
          "base": "新缴存基数", "amount": "新月缴存额", "employer_ratio": "新单位缴存比例",
          "personal_ratio": "新个人缴存比例", "effective_month": "生效年月"}
FIELDS = (
    FormField("member_no", "个人账号", "member", max_length=20),
    FormField("category", "变更类别", "choice", CATEGORIES, default="base"),
    FormField("base", LABELS["base"], "money", required=False, max_length=15),
    FormField("amount", LABELS["amount"], "money", required=False, max_length=15),
    FormField("employer_ratio", LABELS["employer_ratio"], "ratio", required=False, max_length=6),
    FormField("personal_ratio", LABELS["personal_ratio"], "ratio", required=False, max_length=6),
    FormField("effective_month", "生效年月", "month", max_length=6),
)
_WHO = (SheetColumn("member_no", "个人账号", "code", note="缴存人的个人账号"),
        SheetColumn("name", "姓名", note="与个人账号对应的姓名，用于核对"),
        SheetColumn("id_number", "证件号码", "id", required=False, width=22, note="用于核对，选填"))
PERCENT_NOTE = "百分数的数值，如12表示12%"
_MONTH = SheetColumn("effective_month", "生效年月", "month", note="格式YYYYMM，如202607")
OPTION_COLUMNS = {
    "base": (*_WHO, SheetColumn("base", LABELS["base"], "money", note="单位：元，最多两位小数"), _MONTH),
    "amount": (*_WHO, SheetColumn("amount", LABELS["amount"], "money", note="单位：元，单位和个人部分合计"), _MONTH),
    "ratio": (*_WHO, SheetColumn("employer_ratio", LABELS["employer_ratio"], "ratio", note=PERCENT_NOTE),
              SheetColumn("personal_ratio", LABELS["personal_ratio"], "ratio", note=PERCENT_NOTE), _MONTH),
}
DISPLAY = (
    Column("member_no", "个人账号"), Column("name", "姓名"), Column("id_number", "证件号码"),
    Column("category_name", "变更类别"), Column("old_base", "原缴存基数"), Column("new_base", "新缴存基数"),
    Column("old_ratio_text", "原缴存比例（单位/个人）"), Column("new_ratio_text", "新缴存比例（单位/个人）"),
    Column("old_amount", "原月缴存额"), Column("new_amount", "新月缴存额"), Column("effective_month", "生效年月"),
)


def _month_bounds() -> tuple[str, str]:
    today = date.today()
    back = today.year * 12 + today.month - 1 - MONTHS_BACK
    return f"{back // 12}{back % 12 + 1:02d}", f"{today.year + 1}12"


def _entered(reader: RowReader, category: str) -> dict[str, Decimal | None]:
    if category == "ratio":
        found: dict[str, Decimal | None] = {}
        for key in ENTERED["ratio"]:
            text = reader.raw(key)
            found[key] = None if text is None else figures.parse_percent(text)
            if text is not None and found[key] is None:
                reader.fail(key, "应为大于0且不超过100的百分数，最多两位小数（如12表示12%）")
        return found
    key = ENTERED[category][0]
    return {key: reader.money(key, MONEY_MIN, MONEY_MAX)}


def _new(policy: Policy, reader: RowReader, category: str, old: figures.Figures,
         entered: Mapping[str, Decimal | None]) -> figures.Figures | None:
    if category == "base":
        return figures.with_base(policy, cast(Decimal, entered["base"]), old.employer_ratio, old.personal_ratio)
    if category == "ratio":
        return figures.with_base(policy, old.base, cast(Decimal, entered["employer_ratio"]),
                                 cast(Decimal, entered["personal_ratio"]))
    amount = cast(Decimal, entered["amount"])
    base, nearest = figures.base_for_amount(policy, amount, old.employer_ratio, old.personal_ratio)
    if base is None:
        reader.fail("amount", f"月缴存额{amount:.2f}元无法按缴存比例{old.ratio_text()}得出，可填写"
                    + "或".join(f"{n:.2f}元" for n in nearest))
        return None
    return figures.with_base(policy, base, old.employer_ratio, old.personal_ratio)


def _refuse_limits(reader: RowReader, policy: Policy, category: str, member: Member, new: figures.Figures) -> None:
    entered = ENTERED[category][0]
    keys = {"缴存基数": entered, "月缴存额": entered, "单位缴存比例": "employer_ratio",
            "个人缴存比例": "personal_ratio"}
    for refusal in refusals(policy, f"{member.name}（{member.member_no}）", new.base, new.employer_ratio,
                            new.personal_ratio):
        reader.fail(keys.get(refusal.field, entered), refusal.reason)


def check(employer_no: str, option: str, rows: Sequence[tuple[int, Mapping[str, str]]],
          memo: dict[str, Any]) -> Checked:
    """A typed row names its category; an imported one has the file's (the template chosen)."""
    earliest, latest = _month_bounds()
    verdict = Checked()
    read = []
    for row_no, values in rows:
        reader = RowReader(row_no, values, LABELS)
        member_no = reader.code("member_no")
        category = option or reader.choice("category", tuple(CATEGORY_NAMES), default="base")
        name = reader.text("name", 50, required=False)
        id_number = reader.text("id_number", 18, required=False).upper()
        entered = _entered(reader, category) if category else {}
        month = reader.month("effective_month", earliest, latest)
        read.append((reader, member_no, category, name, id_number, entered, month))
    members = members_by_number(employer_no, [r[1] for r in read if r[1]])
    since = terms_since(employer_no, list(members))
    for reader, member_no, category, name, id_number, entered, month in read:
        member = members.get(member_no) if member_no else None
        if member_no and member is None:
            reader.fail("member_no", MISSING)
        elif member is not None:
            _check_member(reader, member, name, id_number)
            start = since.get(member_no) or member.first_month
            if month and start and month < start:
                reader.fail("effective_month", f"缴存人{member.name}（{member_no}）"
                            + BEFORE_TERMS.format(month=month, since=start))
        policy = month_policy(month, memo) if month else None
        if month and policy is None:
            reader.fail("effective_month", NO_POLICY)
        if not reader.ok or member is None or policy is None:
            verdict.errors.extend(reader.errors)
            continue
        old = figures.current(member)
        new = _new(policy, reader, category, old, entered)
        if new is not None:
            _refuse_limits(reader, policy, category, member, new)
            if reader.ok and new == old:
                reader.fail(ENTERED[category][0], UNCHANGED)
        if not reader.ok or new is None:
            verdict.errors.extend(reader.errors)
            continue
        verdict.good.append((reader.row_no, member_no, _data(member, category, entered, month, old, new)))
    return verdict


def terms_since(employer_no: str, member_nos: Sequence[str]) -> dict[str, str]:
    """Each member's current terms' first month (the latest ``from_month`` of its contribution terms)."""
    found: dict[str, str] = {}
    for part in chunks(sorted(set(member_nos))):
        found.update((member_no, since) for member_no, since in db.session().execute(
            select(Contribution.member_no, func.max(Contribution.from_month))
            .where(Contribution.employer_no == employer_no, Contribution.member_no.in_(part))
            .group_by(Contribution.member_no)))
    return found


def _check_member(reader: RowReader, member: Member, name: str, id_number: str) -> None:
    if name and name != member.name:
        reader.fail("name", f"与个人账号{member.member_no}的姓名（{member.name}）不符")
    elif id_number and id_number != member.id_number:
        reader.fail("id_number", f"与个人账号{member.member_no}的证件号码不符")
    elif member.status != NORMAL:
        reader.fail("member_no", f"缴存人{member.name}当前状态为{STATUS_NAMES.get(member.status, member.status)}，"
                                 + ONLY_NORMAL)


def _data(member: Member, category: str, entered: Mapping[str, Decimal | None], month: str,
          old: figures.Figures, new: figures.Figures) -> dict[str, Any]:
    typed = {key: "" for key in ("base", "amount", "employer_ratio", "personal_ratio")}
    for key, value in entered.items():
        typed[key] = figures.percent(value) if key.endswith("ratio") and value is not None else f"{value:.2f}"
    return {
        "member_no": member.member_no, "name": member.name, "id_number": member.id_number,
        "category": category, "category_name": CATEGORY_NAMES[category], **typed, "effective_month": month,
        "old_base": f"{old.base:.2f}", "old_ratio_text": old.ratio_text(), "old_amount": f"{old.amount:.2f}",
        "new_base": f"{new.base:.2f}", "new_employer_ratio": f"{new.employer_ratio}",
        "new_personal_ratio": f"{new.personal_ratio}", "new_ratio_text": new.ratio_text(),
        "new_employer_amount": f"{new.employer_amount:.2f}", "new_personal_amount": f"{new.personal_amount:.2f}",
        "new_amount": f"{new.amount:.2f}", "raise_pct": f"{figures.raise_pct(old, new)}",
    }


def claimed_text(claim: str, data: Mapping[str, Any]) -> str:
    who = f"缴存人{data['name']}（{claim}）" if data.get("name") else f"缴存人{claim}"
    return f"{who}已在清册中或有{PENDING}"


def recheck(employer_no: str, rows: Sequence[Any]) -> list[RowError]:
    """保存 again against the members: one may have been sealed since its row was added."""
    members = members_by_number(employer_no, [r.data["member_no"] for r in rows])
    errors = []
    for index, row in enumerate(rows, start=1):
        member = members.get(row.data["member_no"])
        if member is None:
            errors.append(RowError(index, "个人账号", f"{row.data['member_no']}：{MISSING}"))
        elif member.status != NORMAL:
            errors.append(RowError(index, "个人账号", f"{member.name}（{member.member_no}）当前状态为"
                                   f"{STATUS_NAMES.get(member.status, member.status)}，{ONLY_NORMAL}"))
    return errors


def variables(rows: Sequence[Any]) -> dict[str, int]:
    return {"max_raise_pct": figures.max_raise_variable([Decimal(r.data["raise_pct"]) for r in rows])}


HISTORY = (("base", "缴存基数"), ("employer_ratio", "单位缴存比例"), ("personal_ratio", "个人缴存比例"),
           ("amount", "月缴存额"))


def _history_values(f: figures.Figures) -> dict[str, str]:
    return {"base": f"{f.base:.2f}", "employer_ratio": f"{figures.percent(f.employer_ratio)}%",
            "personal_ratio": f"{figures.percent(f.personal_ratio)}%", "amount": f"{f.amount:.2f}"}


def apply(batch: Any, rows: Sequence[Any]) -> None:
    """Each member takes the row's new figures once, only while still 正常 (a conditional update whose row
    count decides); its terms from the effective month are appended and the change recorded in 12.2's
    history with the values before and after."""
    session = db.session()
    members = members_by_number(batch.employer_no, [r.data["member_no"] for r in rows])
    changed_at = batch.decided_at or db.utcnow()
    terms: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for row in rows:
        data, member = row.data, members.get(row.data["member_no"])
        new = figures.Figures(Decimal(data["new_base"]), Decimal(data["new_employer_ratio"]),
                              Decimal(data["new_personal_ratio"]), Decimal(data["new_employer_amount"]),
                              Decimal(data["new_personal_amount"]))
        old = figures.current(member) if member is not None else None
        moved = session.execute(update(Member).where(
            Member.member_no == data["member_no"], Member.employer_no == batch.employer_no, Member.status == NORMAL)
            .values(base=new.base, employer_ratio=new.employer_ratio, personal_ratio=new.personal_ratio,
                    employer_amount=new.employer_amount, personal_amount=new.personal_amount)
            .execution_options(synchronize_session=False))
        if old is None or cast(CursorResult[Any], moved).rowcount != 1:
            row.result = "未调整：缴存人状态已变化"
            continue
        terms.append({"employer_no": batch.employer_no, "member_no": data["member_no"],
                      "from_month": data["effective_month"], "base": new.base, "employer_ratio": new.employer_ratio,
                      "personal_ratio": new.personal_ratio, "employer_amount": new.employer_amount,
                      "personal_amount": new.personal_amount, "business_type": TYPE, "business_id": batch.id,
                      "created_at": changed_at})
        before, after = _history_values(old), _history_values(new)
        history.extend({"employer_no": batch.employer_no, "member_no": data["member_no"], "field": key,
                        "label": label, "old_value": before[key], "new_value": after[key],
                        "operator": batch.operator, "approver": batch.approver or "", "business_id": batch.id,
                        "changed_at": changed_at} for key, label in HISTORY if before[key] != after[key])
    for part in chunks(terms, 2000):
        session.execute(insert(Contribution), list(part))
    for part in chunks(history, 2000):
        session.execute(insert(InfoChange), list(part))
    emit(session, "member.base_adjusted", outcome_data(batch, len(terms)), subject=f"{TYPE}/{batch.id}")


BASE_ADJUSTMENT = RosterType(
    type=TYPE, fields=FIELDS, columns=OPTION_COLUMNS["base"], display=DISPLAY,
    check=check, recheck=recheck, apply=apply, claim_label="该缴存人", claim_field="member_no",
    entry_message="基数调整清册录入成功", commit_label="保存",
    commit_message="已保存并提交中心审核，审批结果将以消息通知",
    commit_scope="selected",
    import_option=ImportOption("category", "变更类别", CATEGORIES, "base"),
    instructions=("第一行为表头，请勿修改；从第二行起每行填写一名缴存人。",
                  "个人账号、生效年月请以文本格式填写（模板已设置）；姓名、证件号码用于核对。",
                  "缴存基数和月缴存额不得超过生效年月政策规定的上下限；只有正常状态的缴存人可以办理。",
                  "已提交审核但未审批的缴存人，不得重复提交。"),
    rows_caption="基数调整清册",
    option_columns=OPTION_COLUMNS, claimed_text=claimed_text, variables=variables,
)
