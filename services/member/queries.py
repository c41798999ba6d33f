"""缴存人信息查询 (manual ch. 12): 12.1 account information, 12.2 customer-information changes,
12.3 account status changes; each paged, printed and downloaded through hall_common.queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, select

from hall_common.queries import QueryDef, caption_of, day_range, page_of, stream_of
from hall_common.sheets import SheetColumn

from .models import CHANGE_TYPE_NAMES, STATUS_NAMES, InfoChange, Member, StatusChange

PERMISSION = "member_query"


# hall_common.queries checks every start/end pair of these filters (开始日期不能晚于结束日期): a check
# here as well would name the reason twice.
class AccountFilters(Schema):
    open_from = fields.Date(load_default=None, metadata={"description": "开户日期起"})
    open_to = fields.Date(load_default=None, metadata={"description": "开户日期止"})
    member_no = fields.String(load_default="", validate=validate.Length(max=20))


class ChangeFilters(Schema):
    start_date = fields.Date(load_default=None)
    end_date = fields.Date(load_default=None)
    member_no = fields.String(load_default="", validate=validate.Length(max=20))


class StatusFilters(ChangeFilters):
    change_type = fields.String(load_default="", validate=validate.OneOf(["", *CHANGE_TYPE_NAMES],
                                                                          error="变更类型不正确"))


# -- 12.1 ------------------------------------------------------------------------------------------

ACCOUNT_COLUMNS = (
    SheetColumn("member_no", "个人账号", "code"), SheetColumn("name", "姓名"),
    SheetColumn("id_type", "证件类型"), SheetColumn("id_number", "证件号码", "id", width=22),
    SheetColumn("base", "缴存基数", "money"), SheetColumn("employer_ratio", "单位缴存比例"),
    SheetColumn("personal_ratio", "个人缴存比例"), SheetColumn("monthly_amount", "月缴存额", "money"),
    SheetColumn("status_name", "账户状态"), SheetColumn("open_date", "开户日期", "date"),
)


def _accounts(employer_no: str, filters: dict[str, Any]) -> Select[Any]:
    query = select(Member).where(Member.employer_no == employer_no)
    if filters.get("member_no"):
        query = query.where(Member.member_no == filters["member_no"])
    if filters.get("open_from"):
        query = query.where(Member.open_date >= filters["open_from"])
    if filters.get("open_to"):
        query = query.where(Member.open_date <= filters["open_to"])
    return query.order_by(Member.open_date, Member.member_no)


def _account_row(row: Any) -> dict[str, Any]:
    member: Member = row[0]
    return {
        "member_no": member.member_no, "name": member.name, "id_type": member.id_type,
        "id_number": member.id_number, "base": member.base,
        "employer_ratio": f"{member.employer_ratio * 100:.2f}%",
        "personal_ratio": f"{member.personal_ratio * 100:.2f}%",
        "monthly_amount": member.employer_amount + member.personal_amount,  # as stored (policy of its month)
        "status_name": STATUS_NAMES.get(member.status, member.status), "open_date": member.open_date,
    }


Page = tuple[list[dict[str, Any]], int]


def fetch_accounts(employer_no: str, filters: dict[str, Any], page: int, per_page: int) -> Page:
    rows, total = page_of(_accounts(employer_no, filters), page, per_page)
    return [_account_row(r) for r in rows], total


def iterate_accounts(employer_no: str, filters: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return (_account_row(r) for r in stream_of(_accounts(employer_no, filters)))


# -- 12.2 ------------------------------------------------------------------------------------------

CHANGE_COLUMNS = (
    SheetColumn("member_no", "个人账号", "code"), SheetColumn("name", "姓名"), SheetColumn("label", "变更项目"),
    SheetColumn("old_value", "变更前"), SheetColumn("new_value", "变更后"), SheetColumn("operator", "经办人"),
    SheetColumn("approver", "审核人"), SheetColumn("changed_at", "变更时间"),
)


def _changes(employer_no: str, filters: dict[str, Any]) -> Select[Any]:
    query = (select(InfoChange, Member.name).join(Member, Member.member_no == InfoChange.member_no)
             .where(InfoChange.employer_no == employer_no))
    if filters.get("member_no"):
        query = query.where(InfoChange.member_no == filters["member_no"])
    query = day_range(query, InfoChange.changed_at, filters.get("start_date"), filters.get("end_date"))
    return query.order_by(InfoChange.changed_at, InfoChange.id)


def _change_row(row: Any) -> dict[str, Any]:
    change, name = row
    return {"member_no": change.member_no, "name": name, "label": change.label, "old_value": change.old_value,
            "new_value": change.new_value, "operator": change.operator, "approver": change.approver,
            "changed_at": f"{change.changed_at:%Y-%m-%d %H:%M}"}


def fetch_changes(employer_no: str, filters: dict[str, Any], page: int, per_page: int) -> Page:
    rows, total = page_of(_changes(employer_no, filters), page, per_page)
    return [_change_row(r) for r in rows], total


def iterate_changes(employer_no: str, filters: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return (_change_row(r) for r in stream_of(_changes(employer_no, filters)))


# -- 12.3 ------------------------------------------------------------------------------------------

STATUS_COLUMNS = (
    SheetColumn("member_no", "个人账号", "code"), SheetColumn("name", "姓名"),
    SheetColumn("change_type", "变更类型"), SheetColumn("from_status", "变更前状态"),
    SheetColumn("to_status", "变更后状态"), SheetColumn("reason", "变更原因"), SheetColumn("operator", "经办人"),
    SheetColumn("approver", "审核人"), SheetColumn("changed_at", "变更时间"),
)


def _statuses(employer_no: str, filters: dict[str, Any]) -> Select[Any]:
    query = (select(StatusChange, Member.name).join(Member, Member.member_no == StatusChange.member_no)
             .where(StatusChange.employer_no == employer_no))
    if filters.get("member_no"):
        query = query.where(StatusChange.member_no == filters["member_no"])
    if filters.get("change_type"):
        query = query.where(StatusChange.change_type == filters["change_type"])
    query = day_range(query, StatusChange.changed_at, filters.get("start_date"), filters.get("end_date"))
    return query.order_by(StatusChange.changed_at, StatusChange.id)


def _status_row(row: Any) -> dict[str, Any]:
    change, name = row
    return {"member_no": change.member_no, "name": name,
            "change_type": CHANGE_TYPE_NAMES.get(change.change_type, change.change_type),
            "from_status": STATUS_NAMES.get(change.from_status, change.from_status),
            "to_status": STATUS_NAMES.get(change.to_status, change.to_status), "reason": change.reason,
            "operator": change.operator, "approver": change.approver,
            "changed_at": f"{change.changed_at:%Y-%m-%d %H:%M}"}


def fetch_statuses(employer_no: str, filters: dict[str, Any], page: int, per_page: int) -> Page:
    rows, total = page_of(_statuses(employer_no, filters), page, per_page)
    return [_status_row(r) for r in rows], total


def iterate_statuses(employer_no: str, filters: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return (_status_row(r) for r in stream_of(_statuses(employer_no, filters)))


QUERIES = (
    QueryDef("member-accounts", "缴存人账户信息", PERMISSION, AccountFilters, ACCOUNT_COLUMNS, fetch_accounts,
             iterate_accounts,
             caption_of({"open_from": "开户日期起", "open_to": "开户日期止", "member_no": "个人账号"})),
    QueryDef("member-changes", "缴存人客户信息变更查询", PERMISSION, ChangeFilters, CHANGE_COLUMNS, fetch_changes,
             iterate_changes, caption_of({"start_date": "开始日期", "end_date": "结束日期", "member_no": "个人账号"})),
    QueryDef("member-status-changes", "缴存人账户状态变更查询", PERMISSION, StatusFilters, STATUS_COLUMNS,
             fetch_statuses, iterate_statuses,
             caption_of({"start_date": "开始日期", "end_date": "结束日期", "member_no": "个人账号",
                       "change_type": "变更类型"})),
)
