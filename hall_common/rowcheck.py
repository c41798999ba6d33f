"""Reading one roster row's text values, the same for a typed row and an imported one: each reader
returns the normalised value or records a ``RowError`` naming the row, the field and the reason.

Values arrive as text (the form posts text; hall_common.sheets normalises cells to text). Fast enough for
a 100,000-row import: plain string work, a regular expression at most, per cell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from stdnum.cn import ric

from .money import to_money
from .sheets import FORMULA, RowError

_MOBILE = re.compile(r"^(\+86)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_MONEY = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_MONTH = re.compile(r"^(\d{4})(\d{2})$")
_CODE = re.compile(r"^[0-9A-Za-z]{1,20}$")
# hall_common.schemas' rule for text fields (control characters, lone surrogates), as one pattern.
_INVALID = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
FORMULA_REASON = "单元格含有公式，请填写数值"
RESIDENT_ID = "居民身份证"


def resident_id_ok(number: str) -> bool:
    """GB 11643 for a number already known to be 17 digits and a last character: the MOD 11-2 check
    character (python-stdnum's) and a real birth date. hall_common.validators.is_resident_id is the
    same rule for one value; this is its form for 100,000 rows, without stdnum's per-call cleaning."""
    if number[17] != ric.calc_check_digit(number):
        return False
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return True


class RowReader:
    def __init__(self, row_no: int, values: Mapping[str, str], labels: Mapping[str, str]) -> None:
        self.row_no = row_no
        self.values = values
        self.labels = labels
        self.errors: list[RowError] = []

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, key: str, reason: str) -> None:
        self.errors.append(RowError(self.row_no, self.labels.get(key, key), reason))

    def raw(self, key: str, required: bool = True) -> str | None:
        """The cell's text, or None after recording why it cannot be used."""
        value = self.values.get(key)
        value = "" if value is None else value.strip() if value.__class__ is str else str(value).strip()
        if value == FORMULA:
            self.fail(key, FORMULA_REASON)
            return None
        if _INVALID.search(value):
            self.fail(key, "含有无效字符")
            return None
        if not value and required:
            self.fail(key, "不能为空")
            return None
        return value

    def text(self, key: str, max_length: int, required: bool = True) -> str:
        value = self.raw(key, required)
        if value is None:
            return ""
        if len(value) > max_length:
            self.fail(key, f"不能超过{max_length}个字")
            return ""
        return value

    def choice(self, key: str, choices: Sequence[str], default: str | None = None) -> str:
        value = self.raw(key, required=default is None)
        if value is None:
            return ""
        if not value and default is not None:
            return default
        if value not in choices:
            self.fail(key, "应为" + "、".join(choices) + "之一")
            return ""
        return value

    def id_number(self, key: str, id_type: str) -> str:
        value = self.raw(key)
        if value is None:
            return ""
        value = value.upper()
        if id_type == RESIDENT_ID:
            if len(value) != 18 or not value[:17].isdigit():
                self.fail(key, "应为18位居民身份证号码（请以文本格式填写）")
                return ""
            if not resident_id_ok(value):
                self.fail(key, "出生日期或校验位不正确")
                return ""
        elif not _CODE.match(value):
            self.fail(key, "应为1到20位字母或数字")
            return ""
        return value

    def money(self, key: str, low: Decimal, high: Decimal) -> Decimal | None:
        value = self.raw(key)
        if value is None:
            return None
        value = value.replace(",", "")
        if not _MONEY.match(value):
            self.fail(key, "应为金额（最多两位小数）")
            return None
        try:
            amount = to_money(Decimal(value))
        except InvalidOperation:
            self.fail(key, "应为金额（最多两位小数）")
            return None
        if not low <= amount <= high:
            self.fail(key, f"应在{low:.2f}至{high:.2f}元之间")
            return None
        return amount

    def month(self, key: str, earliest: str, latest: str, required: bool = True) -> str:
        """A year-month YYYYMM between ``earliest`` and ``latest`` (both YYYYMM)."""
        value = self.raw(key, required)
        if not value:
            return ""
        found = _MONTH.match(value if len(value) == 6 else value.replace("-", "").replace("/", ""))
        if found is None or not 1 <= int(found.group(2)) <= 12:
            self.fail(key, "应为有效年月（YYYYMM）")
            return ""
        month = found.group(0)
        if not earliest <= month <= latest:
            self.fail(key, f"应在{earliest}至{latest}之间")
            return ""
        return month

    def phone(self, key: str, required: bool = False) -> str:
        value = self.raw(key, required)
        if not value:
            return ""
        if not (_MOBILE.match(value) or _LANDLINE.match(value)):
            self.fail(key, "应为11位手机号或固定电话（如 0351-1234567）")
            return ""
        return value

    def code(self, key: str) -> str:
        value = self.raw(key)
        if value is None:
            return ""
        if not _CODE.match(value):
            self.fail(key, "格式不正确")
            return ""
        return value
