"""封存 (manual ch. 11) and 启封 (ch. 10): one shape, two directions. A member is chosen by the
type-ahead (or named by number in an import), its state must allow the change, and the change is
recorded in the status history with reason, operator and time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update

from hall_common import db
from hall_common.business import Column
from hall_common.outbox import emit
from hall_common.roster import Checked, FormField, RosterType, chunks
from hall_common.rowcheck import RowReader
from hall_common.sheets import RowError, SheetColumn

from .models import NORMAL, SEALED, SEALING, STATUS_NAMES, UNSEALING, Member, StatusChange
from .registration import outcome_data

SEAL_REASONS = ("退休", "离职", "破产改制", "保留劳动关系停发工资", "调动暂不转移", "其他")
UNSEAL_REASONS = ("正常启封", "错误封存更正")
MISSING = "个人账号不存在"


@dataclass(frozen=True)
class Direction:
    type: str
    verb: str  # 封存 / 启封
    change_type: str
    from_status: str
    to_status: str
    reasons: tuple[str, ...]


SEAL = Direction("member_seal", "封存", SEALING, NORMAL, SEALED, SEAL_REASONS)
UNSEAL = Direction("member_unseal", "启封", UNSEALING, SEALED, NORMAL, UNSEAL_REASONS)


def members_by_number(employer_no: str, numbers: Sequence[str]) -> dict[str, Member]:
    """The employer's members of these numbers (seal, unseal and base adjustment read them by the chunk)."""
    found: dict[str, Member] = {}
    for part in chunks(sorted(set(numbers))):
        found.update((m.member_no, m) for m in db.session().scalars(
            select(Member).where(Member.employer_no == employer_no, Member.member_no.in_(part))))
    return found


def _state_refusal(direction: Direction, member: Member) -> str | None:
    if member.status == direction.from_status:
        return None
    return (f"缴存人{member.name}当前状态为{STATUS_NAMES.get(member.status, member.status)}，"
            f"只有{STATUS_NAMES[direction.from_status]}状态的缴存人可以{direction.verb}")


def checker(direction: Direction) -> Any:
    labels = {"member_no": "个人账号", "name": "姓名", "reason": "变更原因"}

    def check(employer_no: str, option: str, rows: Sequence[tuple[int, Mapping[str, str]]],
              memo: dict[str, Any]) -> Checked:
        verdict = Checked()
        read = []
        for row_no, values in rows:
            reader = RowReader(row_no, values, labels)
            member_no = reader.code("member_no")
            name = reader.text("name", 50, required=False)
            reason = reader.choice("reason", direction.reasons)
            read.append((reader, member_no, name, reason))
        members = members_by_number(employer_no, [m for r, m, _, _ in read if r.ok])
        for reader, member_no, name, reason in read:
            member = members.get(member_no) if reader.ok else None
            if reader.ok and member is None:
                reader.fail("member_no", MISSING)
            elif member is not None and name and name != member.name:
                reader.fail("name", f"与个人账号{member_no}的姓名（{member.name}）不符")
            elif member is not None and (refusal := _state_refusal(direction, member)):
                reader.fail("member_no", refusal)
            if not reader.ok or member is None:
                verdict.errors.extend(reader.errors)
                continue
            verdict.good.append((reader.row_no, member_no, {
                "member_no": member_no, "name": member.name, "id_number": member.id_number, "reason": reason,
                "status_name": STATUS_NAMES.get(member.status, member.status)}))
        return verdict

    return check


def rechecker(direction: Direction) -> Any:
    def recheck(employer_no: str, rows: Sequence[Any]) -> list[RowError]:
        members = members_by_number(employer_no, [r.data["member_no"] for r in rows])
        errors = []
        for index, row in enumerate(rows, start=1):
            member = members.get(row.data["member_no"])
            refusal = MISSING if member is None else _state_refusal(direction, member)
            if refusal:
                errors.append(RowError(index, "个人账号", f"{row.data['member_no']}：{refusal}"))
        return errors

    return recheck


def applier(direction: Direction) -> Any:
    def apply(batch: Any, rows: Sequence[Any]) -> None:
        """Each member moves once, and only from the state the direction starts from (a conditional
        update whose row count decides); one that moved meanwhile is marked, not changed."""
        session = db.session()
        changed_at = batch.decided_at or db.utcnow()
        history = []
        for row in rows:
            moved = session.execute(update(Member).where(
                Member.member_no == row.data["member_no"], Member.employer_no == batch.employer_no,
                Member.status == direction.from_status).values(status=direction.to_status))
            if cast(CursorResult[Any], moved).rowcount != 1:
                row.result = f"未{direction.verb}：缴存人状态已变化"
                continue
            history.append({
                "employer_no": batch.employer_no, "member_no": row.data["member_no"],
                "change_type": direction.change_type, "from_status": direction.from_status,
                "to_status": direction.to_status, "reason": row.data["reason"], "operator": batch.operator,
                "approver": batch.approver or "", "business_id": batch.id, "changed_at": changed_at})
        for part in chunks(history, 2000):
            session.execute(insert(StatusChange), list(part))
        data = outcome_data(batch, len(history))
        if direction is SEAL:
            emit(session, "member.sealed", data, subject=f"{direction.type}/{batch.id}")
        else:
            emit(session, "member.unsealed", data, subject=f"{direction.type}/{batch.id}")

    return apply


def roster_type(direction: Direction) -> RosterType:
    return RosterType(
        type=direction.type,
        fields=(FormField("reason", "变更原因", "choice", tuple((r, r) for r in direction.reasons)),
                FormField("member_no", "个人账号", "member", max_length=20)),
        columns=(SheetColumn("member_no", "个人账号", "code", note="缴存人的个人账号"),
                 SheetColumn("name", "姓名", note="与个人账号对应的姓名，用于核对"),
                 SheetColumn("reason", "变更原因", "choice", direction.reasons)),
        display=(Column("member_no", "个人账号"), Column("name", "姓名"), Column("id_number", "证件号码"),
                 Column("reason", "变更原因")),
        check=checker(direction), recheck=rechecker(direction), apply=applier(direction),
        claim_label="该缴存人", claim_field="member_no",
        entry_message="缴存人状态变更清册录入成功",
        commit_label=f"确定{direction.verb}", commit_message=f"已确定{direction.verb}，办理结果将以消息通知",
        commit_scope="selected",
        instructions=("第一行为表头，请勿修改；从第二行起每行填写一名缴存人。",
                      "个人账号请以文本格式填写（模板已设置）；姓名用于核对。"),
        rows_caption="缴存人状态变更清册",
    )


SEALING_ROSTER = roster_type(SEAL)
UNSEALING_ROSTER = roster_type(UNSEAL)
