"""单位客户信息变更查询 (manual 7.1): the employer's approved information changes, as the change
business recorded them (ChangeHistory), paged, printed and downloaded through hall_common.queries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from marshmallow import Schema, fields
from sqlalchemy import Select, select

from hall_common.queries import QueryDef, caption_of, day_range, page_of, stream_of
from hall_common.sheets import SheetColumn

from .models import ChangeHistory

PERMISSION = "employer_query"


class ChangeFilters(Schema):
    start_date = fields.Date(load_default=None, metadata={"description": "变更日期起"})
    end_date = fields.Date(load_default=None, metadata={"description": "变更日期止"})


CHANGE_COLUMNS = (
    SheetColumn("changed_at", "变更时间", width=18), SheetColumn("label", "变更项目"),
    SheetColumn("old_value", "变更前", width=28), SheetColumn("new_value", "变更后", width=28),
    SheetColumn("operator", "经办人"), SheetColumn("approver", "审核人"),
)


def _changes(employer_no: str, filters: dict[str, Any]) -> Select[Any]:
    query = select(ChangeHistory).where(ChangeHistory.employer_no == employer_no)
    query = day_range(query, ChangeHistory.changed_at, filters.get("start_date"), filters.get("end_date"))
    return query.order_by(ChangeHistory.changed_at, ChangeHistory.id)


def _row(row: Any) -> dict[str, Any]:
    change: ChangeHistory = row[0]
    return {"changed_at": f"{change.changed_at:%Y-%m-%d %H:%M}", "label": change.label,
            "old_value": change.old_value, "new_value": change.new_value, "operator": change.operator,
            "approver": change.approver}


def fetch_changes(employer_no: str, filters: dict[str, Any], page: int, per_page: int
                  ) -> tuple[list[dict[str, Any]], int]:
    rows, total = page_of(_changes(employer_no, filters), page, per_page)
    return [_row(r) for r in rows], total


def iterate_changes(employer_no: str, filters: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return (_row(r) for r in stream_of(_changes(employer_no, filters)))


QUERIES = (
    QueryDef("employer-changes", "单位客户信息变更查询", PERMISSION, ChangeFilters, CHANGE_COLUMNS, fetch_changes,
             iterate_changes, caption_of({"start_date": "开始日期", "end_date": "结束日期"})),
)
