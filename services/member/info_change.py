"""缴存人信息变更 (manual ch. 9): the change roster (hall_common.change_roster) configured for a member.

The operator chooses a member; the member's information is echoed, greyed items not editable; the
nine items of the manual are offered, coded ones (学历 GB/T 4658, 婚姻状况 GB/T 2261.2) as their codes;
each edit is a row of the 待变更清册; 保存 submits it for approval. One pending change per member: a
second is refused "缴存人存在未审批完成的变更业务" (a partial unique index decides between threads).
A sealed member's information may change (the account still exists); a frozen or closed one's may not.
On approval the member gets the new values, each row goes to 12.2's history (InfoChange) and the
employer is messaged (``member.info_changed``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, select

from hall_common import business_types, db, validators
from hall_common.change_roster import PENDING, ChangeField, ChangeRoster
from hall_common.errors import BusinessError
from hall_common.outbox import emit
from hall_common.security import Principal

from .businesses import BUSINESSES
from .models import NORMAL, SEALED, STATUS_NAMES, InfoChange, Member, MemberChangeRequest

BUSINESS_TYPE = "member_change"
BUSINESS_TITLE = business_types.resolve(BUSINESS_TYPE).title  # declared once, in the catalog
PENDING_MESSAGE = "缴存人存在未审批完成的变更业务"
MISSING_MEMBER = "缴存人不存在"
# The account still exists with the employer in these states; a frozen or closed one's is not changed.
CHANGEABLE = (NORMAL, SEALED)

# DOMAIN.md: GB/T 4658 (main codes) and GB/T 2261.2.
EDUCATION = {"11": "博士", "14": "硕士", "21": "本科", "31": "专科", "41": "中专", "44": "职高", "47": "技校",
             "61": "普高", "71": "初中", "81": "小学", "90": "其他"}
MARITAL_STATUS = {"10": "未婚", "20": "已婚", "21": "初婚", "22": "再婚", "23": "复婚", "30": "丧偶", "40": "离婚",
                  "90": "未说明"}
_INCOME = re.compile(r"^\d{1,10}(\.\d{1,2})?$")


def family_income(value: str) -> None:
    """Yuan a month, at most two places: never a float, never negative."""
    if not _INCOME.match(value or ""):
        raise ValidationError("家庭收入应为不小于0的金额（元），最多两位小数")


FIELDS: tuple[ChangeField, ...] = (
    ChangeField("member_no", "个人账号", False),
    ChangeField("name", "姓名", False),
    ChangeField("id_type", "证件类型", False),
    ChangeField("id_number", "证件号码", False),
    ChangeField("status", "个人账户状态", False, choices=STATUS_NAMES),
    ChangeField("open_date", "开户日期", False),
    ChangeField("education", "学历", True, choices=EDUCATION),
    ChangeField("landline", "固定电话", True, validators.landline, 13),
    ChangeField("postcode", "邮政编码", True, validators.postcode, 6),
    ChangeField("duty", "职务", True, validators.text(50, "职务"), 50),
    ChangeField("occupation", "职业", True, validators.text(50, "职业"), 50),
    ChangeField("title", "职称", True, validators.text(50, "职称"), 50),
    ChangeField("marital_status", "婚姻状况", True, choices=MARITAL_STATUS),
    ChangeField("home_address", "家庭住址", True, validators.text(200, "家庭住址"), 200),
    ChangeField("family_income", "家庭收入", True, family_income, 13, normalize=lambda v: f"{Decimal(v):.2f}"),
)
MAX_ROWS = sum(f.editable for f in FIELDS)


def current(member: Member, name: str) -> str:
    """The stored value as text: money with its two places, a date as YYYY-MM-DD, nothing as ""."""
    value = getattr(member, name)
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _write(member: Member, item: ChangeField, value: str) -> None:
    setattr(member, item.name, Decimal(value) if item.name == "family_income" else value)


def _history(request: MemberChangeRequest, member: Member, row: dict[str, str], old: str) -> InfoChange:
    return InfoChange(
        employer_no=request.employer_no, member_no=member.member_no, field=row["field"], label=row["label"],
        old_value=old, new_value=row["new"], operator=request.operator, approver=request.approver or "",
        business_id=request.id, changed_at=request.decided_at,
    )


def _event_data(request: MemberChangeRequest, member: Member, changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {**CHANGES.event_data(request, request.employer_name, changes, BUSINESS_TITLE),
            "member_no": member.member_no, "member_name": member.name}


def _applied(request: MemberChangeRequest, member: Member, applied: list[dict[str, Any]]) -> None:
    emit(db.session(), "member.info_changed", _event_data(request, member, applied), subject=CHANGES.subject(request))


def _rejected(request: MemberChangeRequest, member: Member) -> None:
    data = _event_data(request, member, CHANGES.shown_rows(request))
    emit(db.session(), "member.info_change_rejected", data, subject=CHANGES.subject(request))


def _target(request: MemberChangeRequest) -> Member:
    member = db.session().get(Member, request.member_no)
    if member is None:
        raise LookupError(f"member {request.member_no} does not exist")
    return member


CHANGES = ChangeRoster(
    business_type=BUSINESS_TYPE, registry=BUSINESSES, model=MemberChangeRequest, fields=FIELDS,
    pending_message=PENDING_MESSAGE, slot="member_no", target=_target, current=current, history=_history,
    on_applied=_applied, on_rejected=_rejected, write=_write,
)
CHANGES.register()


# -- what the routes call ------------------------------------------------------------------------------

def get_member(employer_no: str, member_no: str) -> Member:
    """The employer's member; another employer's looks missing."""
    member = db.session().get(Member, member_no)
    if member is None or member.employer_no != employer_no:
        raise BusinessError(MISSING_MEMBER, 404)
    return member


def _changeable(member: Member) -> Member:
    if member.status not in CHANGEABLE:
        state = STATUS_NAMES.get(member.status, member.status)
        raise BusinessError(f"缴存人{member.name}（{member.member_no}）账户状态为{state}，不能办理信息变更", 409)
    return member


def profile(employer_no: str, member_no: str) -> dict[str, Any]:
    """The member as the change page echoes it, with its pending change (in approval or returned)."""
    member = get_member(employer_no, member_no)
    return {"member_no": member.member_no, "name": member.name, "status": member.status,
            "changeable": member.status in CHANGEABLE, "fields": CHANGES.profile_fields(member),
            "request": CHANGES.pending(member_no)}


def submit(principal: Principal, employer_no: str, member_no: str, changes: list[dict[str, str]]) -> Any:
    member = _changeable(get_member(employer_no, member_no))
    return CHANGES.submit(principal, member, changes, employer_no=employer_no,
                          employer_name=principal.employer_name or "", member_no=member_no)


def resubmit(principal: Principal, employer_no: str, request_id: int, changes: list[dict[str, str]]) -> Any:
    """A returned change corrected and sent back into its process (the member must still be changeable)."""
    request = db.session().get(MemberChangeRequest, request_id)
    if request is not None and request.employer_no == employer_no:
        _changeable(get_member(employer_no, request.member_no))
    return CHANGES.resubmit(principal, request_id, changes, employer_no=employer_no,
                            employer_name=principal.employer_name or "")


def pending_requests(employer_no: str, status: str | None, page: int, per_page: int) -> tuple[list[Any], int]:
    """The employer's changes still pending (in approval or returned), newest first, paged: the page
    lists the returned ones to correct."""
    states = (status,) if status in PENDING else PENDING
    where = (MemberChangeRequest.employer_no == employer_no) & MemberChangeRequest.status.in_(states)
    session = db.session()
    total = session.scalar(select(func.count()).select_from(MemberChangeRequest).where(where)) or 0
    query = (select(MemberChangeRequest, Member.name).join(Member, Member.member_no == MemberChangeRequest.member_no)
             .where(where).order_by(MemberChangeRequest.id.desc()).offset((page - 1) * per_page).limit(per_page))
    return [{"request": request, "member_name": name} for request, name in session.execute(query)], total
