"""The policy API's bodies (政策参数). Ratios and interest rates travel in percent (``"12"`` is 12%,
``"1.5"`` is 1.5% a year), as the center writes them; the table keeps fractions (0.12, 0.015)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from hall_common.schemas import PageQuery

# The monthly amount's rounding: the decimal modes a center may choose, and the places it rounds to.
ROUNDINGS = {"ROUND_HALF_UP": "四舍五入", "ROUND_DOWN": "舍去", "ROUND_UP": "进位", "ROUND_HALF_EVEN": "四舍六入五成双"}
PLACES = {"0.01": "到分", "1": "到元"}
MONEY_MAX = Decimal("99999999.99")
MONEY_FIELDS = (("base_min", "缴存基数下限"), ("base_max", "缴存基数上限"),
                ("amount_min", "月缴存额下限"), ("amount_max", "月缴存额上限"))
RATIO_FIELDS = (("employer_ratio_min_pct", "单位缴存比例下限"), ("employer_ratio_max_pct", "单位缴存比例上限"),
                ("personal_ratio_min_pct", "个人缴存比例下限"), ("personal_ratio_max_pct", "个人缴存比例上限"))
RATE_FIELDS = (("current_rate_pct", "当年归集利率"), ("carried_rate_pct", "上年结转利率"))
# Each pair's lower bound must not exceed its upper one.
PAIRS = (("base_min", "base_max"), ("amount_min", "amount_max"),
         ("employer_ratio_min_pct", "employer_ratio_max_pct"), ("personal_ratio_min_pct", "personal_ratio_max_pct"))
LABELS: dict[str, str] = {"effective_from": "生效日期", "amount_places": "月缴存额保留位数",
                          "rounding": "舍入方式", "note": "备注",
                          **dict(MONEY_FIELDS), **dict(RATIO_FIELDS), **dict(RATE_FIELDS)}


class Figure(fields.Decimal):
    """A decimal with at most ``places`` decimals within [low, high], refused with its label in the
    message (the console shows the first message alone)."""

    def __init__(self, label: str, places: int, low: Decimal, high: Decimal, unit: str,
                 low_open: bool = False) -> None:
        super().__init__(as_string=True, required=True, allow_nan=False,
                         error_messages={"required": f"{label}不能为空", "null": f"{label}不能为空",
                                         "invalid": f"{label}应为数字", "special": f"{label}应为数字"})
        self.label, self.max_places, self.unit, self.low_open = label, places, unit, low_open
        self.low, self.high = low, high

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, str) and not value.strip():
            raise self.make_error("required")
        if isinstance(value, bool):
            raise self.make_error("invalid")
        number: Decimal = super()._deserialize(value.strip() if isinstance(value, str) else value, attr, data,
                                               **kwargs)
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.max_places:
            raise ValidationError(f"{self.label}最多{self.max_places}位小数")
        too_low = number <= self.low if self.low_open else number < self.low
        if too_low or number > self.high:
            side = "大于" if self.low_open else "不小于"
            raise ValidationError(f"{self.label}应{side}{self.low}{self.unit}且不大于{self.high}{self.unit}")
        return number


class PolicyInSchema(Schema):
    """A version as the center enters it: every figure, the rounding and an optional note."""

    effective_from = fields.Date(required=True, error_messages={
        "required": "生效日期不能为空", "invalid": "生效日期应为有效日期（YYYY-MM-DD）"})
    amount_places = fields.String(load_default="0.01", validate=validate.OneOf(
        list(PLACES), error="月缴存额保留位数应为到分（0.01）或到元（1）"))
    rounding = fields.String(load_default="ROUND_HALF_UP", validate=validate.OneOf(
        list(ROUNDINGS), error="舍入方式应为" + "、".join(ROUNDINGS.values()) + "之一"))
    note = fields.String(load_default="", validate=validate.Length(max=200, error="备注不能超过200个字"))
    base_min = Figure("缴存基数下限", 2, Decimal(0), MONEY_MAX, "元", low_open=True)
    base_max = Figure("缴存基数上限", 2, Decimal(0), MONEY_MAX, "元", low_open=True)
    amount_min = Figure("月缴存额下限", 2, Decimal(0), MONEY_MAX, "元", low_open=True)
    amount_max = Figure("月缴存额上限", 2, Decimal(0), MONEY_MAX, "元", low_open=True)
    employer_ratio_min_pct = Figure("单位缴存比例下限", 2, Decimal(0), Decimal(100), "%")
    employer_ratio_max_pct = Figure("单位缴存比例上限", 2, Decimal(0), Decimal(100), "%")
    personal_ratio_min_pct = Figure("个人缴存比例下限", 2, Decimal(0), Decimal(100), "%")
    personal_ratio_max_pct = Figure("个人缴存比例上限", 2, Decimal(0), Decimal(100), "%")
    current_rate_pct = Figure("当年归集利率", 4, Decimal(0), Decimal(20), "%")
    carried_rate_pct = Figure("上年结转利率", 4, Decimal(0), Decimal(20), "%")

    @validates_schema
    def _pairs(self, data: dict[str, Any], **_: Any) -> None:
        for low, high in PAIRS:
            if low in data and high in data and data[low] > data[high]:
                raise ValidationError(f"{LABELS[low]}不能大于{LABELS[high]}", high)



class PolicySchema(Schema):
    """A version as every reader sees it, with its state on the day asked (未生效 may still be edited)."""

    id = fields.Integer()
    effective_from = fields.Date()
    amount_places = fields.String()
    amount_places_name = fields.String()
    rounding = fields.String()
    rounding_name = fields.String()
    note = fields.String()
    state = fields.String()  # future, in_force or past
    state_name = fields.String()
    editable = fields.Boolean()
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    base_min = fields.Decimal(as_string=True)
    base_max = fields.Decimal(as_string=True)
    amount_min = fields.Decimal(as_string=True)
    amount_max = fields.Decimal(as_string=True)
    employer_ratio_min_pct = fields.Decimal(as_string=True)
    employer_ratio_max_pct = fields.Decimal(as_string=True)
    personal_ratio_min_pct = fields.Decimal(as_string=True)
    personal_ratio_max_pct = fields.Decimal(as_string=True)
    current_rate_pct = fields.Decimal(as_string=True)
    carried_rate_pct = fields.Decimal(as_string=True)


class PolicyPageSchema(Schema):
    items = fields.List(fields.Nested(PolicySchema))
    total = fields.Integer()


class PolicyListQuery(PageQuery):
    pass


class InForceQuery(Schema):
    on = fields.Date(load_default=None, error_messages={"invalid": "日期应为有效日期（YYYY-MM-DD）"})
