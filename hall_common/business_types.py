"""The one table of business types: what every service and the gateway need to know about a business
besides its rows. Data only, importable anywhere (no Flask, no database).

Each entry names the type's title, its owning service, the employer permission (hall_common.permissions)
an operator needs to submit, resubmit or end it, the texts of the messages notify sends on its outcomes,
and the employer page where a returned one is corrected (None: not built yet; the gateway then shows
the generic returned-business page, rows read from the owner). The workflow service, notify, the
gateway's pages and its inbox filter read this table; an owner's ``BusinessRegistry.register`` takes the
title and permission from it, or adds the entry of a type the table does not have yet (a business
registered in a test, or one built before its line is written here).

The permission also travels with each process instance (stored on it at start, on every process event),
so a service that never heard of a type still knows who may act on its instances.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

APPROVED, REJECTED, RETURNED, ENDED = "approved", "rejected", "returned", "ended"
# Approved, but the owner could not apply it (补缴: the unallocated amount fell short while it was in
# approval): announced by the owner's domain event, worded by the type's own message.
FAILED = "failed"
# The messages notify sends, formatted with the event's data plus {title}, {reference} and, for an
# end, {ended} (who ended it). Most types share them; a type may declare its own.
DEFAULT_MESSAGES: Mapping[str, str] = {
    APPROVED: "尊敬的{employer_name}，您已完成办理{title}（{reference}）！",
    REJECTED: "尊敬的{employer_name}，您提交的{title}业务（{reference}）未通过中心审核。审批意见：{opinion}",
    RETURNED: ("尊敬的{employer_name}，您提交的{title}业务（{reference}）被退回，退回意见：{opinion}。"
               "请修改后重新提交或结束流程"),
    ENDED: "尊敬的{employer_name}，您的{title}业务（{reference}）{ended}。原因：{reason}",
}
ENDED_BY = {"employer": "已结束流程", "center": "已被中心终止"}


@dataclass(frozen=True)
class BusinessTypeInfo:
    type: str
    title: str
    owner: str
    # The employer permission an operator needs for this business (None: any operator of the employer).
    permission: str | None
    # The gateway endpoint of the employer's own page for the business (None: not built yet).
    page: str | None = None
    # Whether a returned business is corrected on that page (the employer change's form). A roster
    # business's page fills the next roster: its returned business is shown on the generic process page
    # (its rows, 重新提交 as it stands, 结束流程).
    corrected_on_page: bool = True
    messages: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MESSAGES))
    # What the reference calls the business's summary ("变更项：单位地址、联系电话"); "" leaves it out.
    summary_label: str = ""
    # Domain events by which the owner announces an outcome once it applied it ({event type: outcome}):
    # notify sends that outcome's message on the domain event instead of on the process's end.
    result_events: Mapping[str, str] = field(default_factory=dict)

    def reference(self, data: Mapping[str, Any]) -> str:
        """Which business a message is about: its number and, when declared, its summary, so two
        messages of the same business type read differently."""
        text = f"业务编号{data.get('business_id', '')}"
        summary = str(data.get("summary") or "").strip()
        if summary and self.summary_label:
            text += f"，{self.summary_label}：{summary}"
        return text

    def message(self, kind: str, data: Mapping[str, Any]) -> str:
        values = {"employer_name": "", "opinion": "", "reason": "", **data, "title": self.title,
                  "reference": self.reference(data), "ended": ENDED_BY.get(str(data.get("by") or ""), "已结束")}
        return (self.messages.get(kind) or DEFAULT_MESSAGES[kind]).format_map(values)

    def announced_by_owner(self, kind: str) -> bool:
        return kind in self.result_events.values()


DEFAULTS: tuple[BusinessTypeInfo, ...] = (
    BusinessTypeInfo("employer_change", "单位信息变更", "employer", "employer_change", page="hall.employer_change",
                     summary_label="变更项",
                     result_events={"employer.info_changed": APPROVED, "employer.info_change_rejected": REJECTED}),
    BusinessTypeInfo("base_adjustment", "基数调整", "member", "base_adjust", page="hall.member_base_adjust",
                     corrected_on_page=False, summary_label="人数",
                     messages={**DEFAULT_MESSAGES,
                               APPROVED: "尊敬的{employer_name}，您已完成办理缴存人基数变更（{reference}）！"},
                     result_events={"member.base_adjusted": APPROVED}),
    BusinessTypeInfo("supplementary_payment", "补缴", "payment", "supplement", page="hall.supplement",
                     corrected_on_page=False, summary_label="笔数",
                     messages={**DEFAULT_MESSAGES,
                               APPROVED: "尊敬的{employer_name}，您已完成办理补缴（{reference}），补缴金额{amount}元"
                                         "已由未分配金额转入缴存人账户！",
                               FAILED: "尊敬的{employer_name}，您提交的补缴业务（{reference}）已审核通过，但{reason}，"
                                       "未能入账。请待资金到账后重新办理补缴。"},
                     result_events={"payment.supplemented": APPROVED, "payment.supplement_failed": FAILED}),
    BusinessTypeInfo("member_registration", "缴存人登记", "member", "member_register", page="hall.member_register",
                     corrected_on_page=False, summary_label="人数", result_events={"member.registered": APPROVED}),
    BusinessTypeInfo("member_change", "缴存人信息变更", "member", "member_change", page="hall.member_change",
                     summary_label="变更项",
                     result_events={"member.info_changed": APPROVED, "member.info_change_rejected": REJECTED}),
    BusinessTypeInfo("member_unseal", "启封", "member", "unseal", page="hall.member_unseal",
                     corrected_on_page=False, summary_label="人数", result_events={"member.unsealed": APPROVED}),
    BusinessTypeInfo("member_seal", "封存", "member", "seal", page="hall.member_seal",
                     corrected_on_page=False, summary_label="人数", result_events={"member.sealed": APPROVED}),
    BusinessTypeInfo("zero_balance_closure", "零余额销户", "employer", "closure", page="hall.closure",
                     corrected_on_page=False,
                     result_events={"employer.closed": APPROVED, "employer.closure_rejected": REJECTED}),
)

_lock = threading.Lock()
_TABLE: dict[str, BusinessTypeInfo] = {info.type: info for info in DEFAULTS}


def get(type_: str) -> BusinessTypeInfo | None:
    return _TABLE.get(type_)


def resolve(type_: str, title: str = "", owner: str = "", permission: str | None = None) -> BusinessTypeInfo:
    """The entry of a type, or, for one not in this process's table (declared in another process:
    its instance carries the title and permission), an entry with the shared messages."""
    return _TABLE.get(type_) or BusinessTypeInfo(type_, title or type_, owner, permission)


def all_types() -> list[BusinessTypeInfo]:
    """In the table's order: the manual's for the defaults, then those added at run time."""
    return list(_TABLE.values())


def declare(info: BusinessTypeInfo) -> BusinessTypeInfo:
    """Add a type (an owner registering a business the table lacks); declaring the same entry again is
    a no-op, a different one for a known type is a bug."""
    with _lock:
        known = _TABLE.get(info.type)
        if known is not None and known != info:
            raise ValueError(f"business type {info.type} is already declared differently")
        _TABLE[info.type] = info
    return info


def withdraw(type_: str) -> None:
    """Remove a type added at run time (a test's); the defaults stay."""
    if any(info.type == type_ for info in DEFAULTS):
        return
    with _lock:
        _TABLE.pop(type_, None)


def permission_of(type_: str) -> str | None:
    info = _TABLE.get(type_)
    return info.permission if info else None
