"""补缴 (manual ch. 5): arrears of some members, filed as a roster and paid from the employer's
unallocated amount (未分配金额) once the center approves.

A row is one member's month: the member (the type-ahead, or the import's 个人账号 with the name and ID
to check), the reason (DOMAIN.md's list), the year-month and the amount. A member's month is paid once:
while a row holds it (draft, staged import, business in approval) the roster's claim ``<member>-<month>``
refuses a second row, and once paid ``supplement_months`` (unique per member and month) refuses it.

Money: at 提交 the roster's total must be covered by the unallocated amount now; on approval the total
is taken from it (``ledger.take_unallocated``, source ``supplement:<business id>``) and booked as type 02
with one line per row (``ledger.book``, same source), in the consumer's one transaction. The money may
have gone meanwhile (a bill paid from it, another 补缴): then nothing moves, every row is marked and the
employer is told by message how much is missing (``payment.supplement_failed``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, tuple_

from hall_common import business_types, db
from hall_common.business import Column
from hall_common.outbox import emit
from hall_common.roster import Checked, FormField, RosterType, chunks
from hall_common.rowcheck import RowReader
from hall_common.sheets import RowError, SheetColumn

from . import ledger, supplement_members
from .ledger import Line
from .models import EmployerAccount
from .supplement_models import SupplementMonth

TYPE = "supplementary_payment"
DETAIL_TYPE = "02"  # 补缴 (models.DETAIL_TYPES)
REASONS = ("漏缴补缴", "少缴补缴", "欠缴单位补缴", "外省市转入补缴", "错缴更正补缴", "特殊补缴")
EARLIEST_MONTH = "199101"  # the fund's first contributions
AMOUNT_MIN, AMOUNT_MAX = Decimal("0.01"), Decimal("9999999.99")
# Sealed members may still owe months from before their seal; a closed or frozen account takes nothing.
PAYABLE_STATUSES = ("01", "02")
NOT_MEMBER = "个人账号不存在或不属于本单位"

LABELS = {"member_no": "个人账号", "name": "姓名", "id_number": "证件号码", "reason": "补缴原因",
          "month": "补缴年月", "amount": "补缴金额"}
FIELDS = (
    FormField("member_no", LABELS["member_no"], "member", max_length=20),
    FormField("reason", LABELS["reason"], "choice", tuple((r, r) for r in REASONS), default=REASONS[0]),
    FormField("month", LABELS["month"], "month", max_length=6),
    FormField("amount", LABELS["amount"], "money", max_length=13),
)
COLUMNS = (
    SheetColumn("member_no", LABELS["member_no"], "code", note="缴存人的个人账号"),
    SheetColumn("name", LABELS["name"], required=False, note="与个人账号对应的姓名，用于核对，选填"),
    SheetColumn("id_number", LABELS["id_number"], "id", required=False, width=22, note="用于核对，选填"),
    SheetColumn("reason", LABELS["reason"], "choice", REASONS),
    SheetColumn("month", LABELS["month"], "month", note="格式YYYYMM，如202605"),
    SheetColumn("amount", LABELS["amount"], "money", note="单位：元，大于0，最多两位小数"),
)
DISPLAY = tuple(Column(key, label) for key, label in LABELS.items())


def _month_text(month: str) -> str:
    return f"{month[:4]}年{month[4:]}月"


def _who(member_no: str, name: str = "") -> str:
    return f"缴存人{name}（{member_no}）" if name else f"缴存人{member_no}"


def claim_of(member_no: str, month: str) -> str:
    return f"{member_no}-{month}"


def claimed_text(claim: str, data: Mapping[str, Any]) -> str:
    return (f"{_who(data['member_no'], data.get('name', ''))}{_month_text(data['month'])}的补缴已在清册中"
            "或已提交审核，不得重复录入")


def paid_text(member_no: str, name: str, month: str) -> str:
    return f"{_who(member_no, name)}{_month_text(month)}已补缴，同一缴存人同一月份只能补缴一次"


def paid_months(pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (member, month) pairs among these already paid by an approved 补缴."""
    found: set[tuple[str, str]] = set()
    for part in chunks(sorted(set(pairs))):
        found.update((m, month) for m, month in db.session().execute(
            select(SupplementMonth.member_no, SupplementMonth.month)
            .where(tuple_(SupplementMonth.member_no, SupplementMonth.month).in_(list(part)))))
    return found


def _members(employer_no: str, member_nos: Sequence[str], memo: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The members of these numbers, each asked once per import (its chunks share the memo)."""
    known: dict[str, dict[str, Any] | None] = memo.setdefault("members", {})
    wanted = [n for n in set(member_nos) if n not in known]
    if wanted:
        found = supplement_members.members(employer_no, wanted)
        known.update({n: found.get(n) for n in wanted})
    return {n: m for n in member_nos if (m := known.get(n)) is not None}


def _member_refusal(reader: RowReader, member: Mapping[str, Any], name: str, id_number: str, month: str) -> None:
    if name and name != member["name"]:
        reader.fail("name", f"与个人账号{member['member_no']}的姓名（{member['name']}）不符")
    elif id_number and id_number != member["id_number"]:
        reader.fail("id_number", f"与个人账号{member['member_no']}的证件号码不符")
    elif member["status"] not in PAYABLE_STATUSES:
        reader.fail("member_no", f"{_who(member['member_no'], member['name'])}当前状态为{member['status_name']}，"
                                 "不能办理补缴")
    elif month and member.get("first_month") and month < member["first_month"]:
        reader.fail("month", f"{_month_text(month)}早于{_who(member['member_no'], member['name'])}的首次缴存年月"
                             f"{_month_text(member['first_month'])}")


def check(employer_no: str, option: str, rows: Sequence[tuple[int, Mapping[str, str]]],
          memo: dict[str, Any]) -> Checked:
    """A typed row (the picker gives the member) and an imported one (its name and ID checked against the
    member) meet the same rules; a month already paid is refused naming the member and the month."""
    latest = f"{date.today():%Y%m}"  # arrears: a month not yet due is not supplemented
    read = []
    for row_no, values in rows:
        reader = RowReader(row_no, values, LABELS)
        member_no = reader.code("member_no")
        name = reader.text("name", 50, required=False)
        id_number = reader.text("id_number", 18, required=False).upper()
        reason = reader.choice("reason", REASONS)
        month = reader.month("month", EARLIEST_MONTH, latest)
        amount = reader.money("amount", AMOUNT_MIN, AMOUNT_MAX)
        read.append((reader, member_no, name, id_number, reason, month, amount))
    members = _members(employer_no, [r[1] for r in read if r[1]], memo)
    paid = paid_months([(r[1], r[5]) for r in read if r[1] and r[5]])
    verdict = Checked()
    for reader, member_no, name, id_number, reason, month, amount in read:
        member = members.get(member_no) if member_no else None
        if member_no and member is None:
            reader.fail("member_no", NOT_MEMBER)
        elif member is not None:
            _member_refusal(reader, member, name, id_number, month)
            if reader.ok and month and (member_no, month) in paid:
                reader.fail("month", paid_text(member_no, member["name"], month))
        if not reader.ok or member is None or amount is None:
            verdict.errors.extend(reader.errors)
            continue
        data = {"member_no": member_no, "name": member["name"], "id_number": member["id_number"],
                "reason": reason, "month": month, "amount": f"{amount:.2f}"}
        verdict.good.append((reader.row_no, claim_of(member_no, month), data))
    return verdict


def total(rows: Sequence[Any]) -> Decimal:
    return sum((Decimal(r.data["amount"]) for r in rows), ledger.ZERO)


def unallocated(employer_no: str, lock: bool = False) -> Decimal:
    """The employer's unallocated amount now; ``lock``: held until the transaction ends (PostgreSQL; on
    SQLite the transaction already holds the database's write lock when the apply step reads it)."""
    query = select(EmployerAccount.unallocated).where(EmployerAccount.employer_no == employer_no)
    have = db.session().scalar(query.with_for_update() if lock else query)
    return have if have is not None else ledger.ZERO


def recheck(employer_no: str, rows: Sequence[Any]) -> list[RowError]:
    """提交 again: a member may have left or been closed, a month paid meanwhile; and the unallocated
    amount must cover the roster's total now (the approval takes it then, and checks again)."""
    members = supplement_members.members(employer_no, [r.data["member_no"] for r in rows])
    paid = paid_months([(r.data["member_no"], r.data["month"]) for r in rows])
    errors = []
    for index, row in enumerate(rows, start=1):
        data, member = row.data, members.get(row.data["member_no"])
        if member is None:
            errors.append(RowError(index, LABELS["member_no"], f"{data['member_no']}：{NOT_MEMBER}"))
        elif member["status"] not in PAYABLE_STATUSES:
            errors.append(RowError(index, LABELS["member_no"], f"{_who(data['member_no'], member['name'])}当前状态为"
                                   f"{member['status_name']}，不能办理补缴"))
        elif (data["member_no"], data["month"]) in paid:
            errors.append(RowError(index, LABELS["month"], paid_text(data["member_no"], member["name"], data["month"])))
    need, have = total(rows), unallocated(employer_no)
    if have < need:
        errors.append(RowError(0, "", ledger.shortfall(need, have)))
    return errors


def summary(rows: Sequence[Any]) -> str:
    months = sorted({r.data["month"] for r in rows})
    span = _month_text(months[0]) + ("" if len(months) == 1 else f"至{_month_text(months[-1])}")
    return f"补缴 {span}"


def apply(batch: Any, rows: Sequence[Any]) -> None:
    """On approval, in the consumer's transaction, once (the spine moved the business first): the total
    out of the unallocated amount and into the members' accounts, or nothing at all when it falls short.

    The unallocated amount is read under a lock and compared first, so a shortfall marks the rows and
    tells the employer instead of raising: the consumer's transaction has moved the business already and
    may not be rolled back part way (no savepoints on our SQLite driver). ``take_unallocated``'s own
    conditional update still decides: should it refuse all the same, the whole delivery rolls back and
    is retried, and the retry finds the shortfall here."""
    session = db.session()
    paid = paid_months([(r.data["member_no"], r.data["month"]) for r in rows])
    payable = []
    for row in rows:
        if (row.data["member_no"], row.data["month"]) in paid:  # only if paid outside a roster's claim
            row.result = "未补缴：" + paid_text(row.data["member_no"], row.data.get("name", ""), row.data["month"])
        else:
            payable.append(row)
    need, have = total(payable), unallocated(batch.employer_no, lock=True)
    if not payable or have < need:
        reason = ledger.shortfall(need, have) if payable else "清册中的月份均已补缴"
        for row in payable:
            row.result = f"未入账：{reason}"
        emit(session, "payment.supplement_failed", _event(batch, 0, need, reason=reason), subject=f"{TYPE}/{batch.id}")
        return
    day = (batch.decided_at or db.utcnow()).date()
    source = f"supplement:{batch.id}"
    ledger.take_unallocated(session, employer_no=batch.employer_no, amount=need, on=day,
                            summary=f"补缴（业务编号{batch.id}）", source=source)
    entry, _ = ledger.book(session, employer_no=batch.employer_no, detail_type=DETAIL_TYPE, summary=summary(payable),
                           booking_date=day, source=source,
                           lines=[Line(r.data["member_no"], Decimal(r.data["amount"])) for r in payable])
    months = [{"employer_no": batch.employer_no, "member_no": r.data["member_no"], "month": r.data["month"],
               "amount": Decimal(r.data["amount"]), "reason": r.data["reason"], "business_id": batch.id,
               "entry_id": entry.id, "created_at": db.utcnow()} for r in payable]
    for part in chunks(months):
        session.execute(insert(SupplementMonth), list(part))
    emit(session, "payment.supplemented", _event(batch, len(payable), need, serial_no=entry.serial_no),
         subject=f"{TYPE}/{batch.id}")


def _event(batch: Any, applied: int, amount: Decimal, **extra: str) -> dict[str, Any]:
    """The outcome as the owner applied it: the business's key, counts and the amount for the message;
    its rows and lines stay here."""
    return {
        "employer_no": batch.employer_no, "employer_name": batch.employer_name, "business_type": TYPE,
        "business_id": str(batch.id), "title": business_types.resolve(TYPE).title,
        "summary": f"{batch.row_count}笔", "row_count": batch.row_count, "applied": applied,
        "amount": f"{amount:,.2f}", "operator": batch.operator, "approver": batch.approver,
        "opinion": batch.opinion, **extra,
    }


SUPPLEMENT = RosterType(
    type=TYPE, fields=FIELDS, columns=COLUMNS, display=DISPLAY, check=check, recheck=recheck, apply=apply,
    claim_label="该缴存人该月份", claim_field="member_no", claimed_text=claimed_text,
    entry_label="录入", entry_message="录入成功，补缴金额{amount}元", commit_label="提交",
    commit_message="补缴清册已提交中心审核，审批结果将以消息通知", summary_unit="笔",
    instructions=("第一行为表头，请勿修改；从第二行起每行填写一名缴存人一个月份的补缴。",
                  "个人账号、补缴年月请以文本格式填写（模板已设置）；姓名、证件号码用于核对，可不填。",
                  "补缴原因：" + "、".join(REASONS) + "。",
                  "同一缴存人同一月份只能补缴一次；补缴金额由本单位未分配金额支付。"),
    rows_caption="补缴清册",
)
