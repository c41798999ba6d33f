"""Reading one roster row's text values, the same for a typed row and an imported one: each reader
returns the normalised value or records a ``RowError`` naming the row, the field and the reason.

Values arrive as text (the form posts text; hall_common.sheets normalises cells to text).

A 100,000-row import reads a column at a time first (the ``*_column`` functions below): each returns,
per cell, the value ``RowReader`` would return, or ``None`` where the cell is not plainly good, and
only a row with a ``None`` goes through ``RowReader``, which words its errors. Each column function
accepts a subset of what its reader accepts (text, stripped, nothing to report) and returns the same
value for it, so a row's verdict, its errors and their order are the reader's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import compress, repeat
from operator import and_, eq, ge, itemgetter, le, methodcaller, mod, not_
from typing import Any, TypeVar, cast

from stdnum.cn import ric

from .money import FEN, rounding, to_money
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


# -- a column at a time: the plainly good cells, without a reader per row ------------------------------

T = TypeVar("T")
_LAST_CHARACTERS = frozenset("0123456789X")
# python-stdnum's check character depends on int(number[:17], 13) % 11 only: taken from it once.
_CHECK_CHARACTERS = {int(body, 13) % 11: ric.calc_check_digit(body + "0")
                     for body in (f"{n:017d}" for n in range(100))}


def column(values: Sequence[Mapping[str, Any]], key: str) -> list[Any]:
    """The values of one key across rows' values (None where a row lacks it)."""
    return list(map(methodcaller("get", key), values))


def by_value(values: Sequence[Any], rule: Callable[[Any], T]) -> list[T]:
    """``rule`` applied once per distinct value: an import's coded columns repeat a few values."""
    if set(map(type, values)) - {str, type(None)}:
        return list(map(rule, values))  # 1 and True hash alike: only text is looked up by value
    seen = {value: rule(value) for value in set(values)}
    return list(map(seen.__getitem__, values))


def text_column(values: Sequence[Any], max_length: int) -> list[str | None]:
    """``RowReader.text(key, max_length)`` of a required text."""
    def rule(value: Any) -> str | None:
        if value.__class__ is not str:
            return None
        value = value.strip()
        return value if 0 < len(value) <= max_length and not _INVALID.search(value) else None

    if values and _all_text(values):
        stripped = list(map(str.strip, values))
        if min(map(len, stripped)) > 0 and max(map(len, stripped)) <= max_length \
                and not _INVALID.search(" ".join(stripped)):
            return list[str | None](stripped)  # the whole column at once: the usual file
    return list(map(rule, values))


def _all_text(values: Sequence[Any]) -> bool:
    return not set(map(type, values)) - {str}


def choice_column(values: Sequence[Any], choices: Sequence[str], default: str) -> list[str | None]:
    """``RowReader.choice(key, choices, default)``: an empty cell is the default."""
    # A choice the reader would strip or refuse is left to it.
    allowed = frozenset(c for c in choices if c and c == c.strip() and not _INVALID.search(c))
    return by_value(values, lambda v: default if v is None or v == "" else
                    v if v.__class__ is str and v in allowed else None)


def resident_id_column(values: Sequence[Any]) -> list[str | None]:
    """``RowReader.id_number(key, RESIDENT_ID)``: 17 ASCII digits and the check character, a real
    birth date (each date looked up once)."""
    births: dict[str, bool] = {}

    def born(text: str) -> bool:
        try:
            date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return False
        return True

    def rule(value: Any) -> str | None:
        if value.__class__ is not str:
            return None
        value = value.strip().upper()
        if len(value) != 18 or not value.isascii() or not value[:17].isdigit():
            return None
        if value[17] != _CHECK_CHARACTERS[int(value[:17], 13) % 11]:
            return None
        birth = value[6:14]
        ok = births.get(birth)
        if ok is None:
            ok = births[birth] = born(birth)
        return value if ok else None

    # The usual column, at once: 18 characters each, 17 ASCII digits and a check character, nothing to
    # strip or upper-case; its check characters and birth dates found by C-level maps.
    if not values or not _all_text(values) or set(map(len, values)) != {18}:
        return list(map(rule, values))
    bodies = list(map(itemgetter(slice(0, 17)), values))
    lasts = list(map(itemgetter(17), values))
    joined = "".join(bodies)
    if not (joined.isascii() and joined.isdigit()) or not set(lasts) <= _LAST_CHARACTERS:
        return list(map(rule, values))
    checked = map(eq, lasts, map(_CHECK_CHARACTERS.__getitem__, map(mod, map(int, bodies, repeat(13)), repeat(11))))
    dated = by_value(list(map(itemgetter(slice(6, 14)), values)), born)
    found: list[str | None] = list(values)
    for index in compress(range(len(found)), map(not_, map(and_, checked, dated))):
        found[index] = None
    return found


def code_id(value: Any) -> str | None:
    """``RowReader.id_number(key, id_type)`` of any other ID type, for one value."""
    if value.__class__ is not str:
        return None
    value = value.strip().upper()
    return value if _CODE.fullmatch(value) else None


def money_column(values: Sequence[Any], low: Decimal, high: Decimal) -> list[Decimal | None]:
    """``RowReader.money(key, low, high)``."""
    def rule(value: Any) -> Decimal | None:
        if value.__class__ is not str:
            return None
        value = value.strip().replace(",", "")
        if not _MONEY.fullmatch(value):
            return None
        amount = to_money(Decimal(value))
        return amount if low <= amount <= high else None

    if values and _all_text(values):  # the usual column, at once: to_money of each by C-level maps
        texts = list(map(methodcaller("replace", ",", ""), map(str.strip, values)))
        if all(map(_MONEY.fullmatch, texts)):
            amounts = list(map(Decimal.quantize, map(Decimal, texts), repeat(FEN), repeat(rounding())))
            if all(map(le, repeat(low), amounts)) and all(map(ge, repeat(high), amounts)):
                return cast(list[Decimal | None], amounts)
    return by_value(values, rule)


def month_column(values: Sequence[Any], earliest: str, latest: str) -> list[str | None]:
    """``RowReader.month(key, earliest, latest)`` of a required month written YYYYMM."""
    def rule(value: Any) -> str | None:
        if value.__class__ is not str:
            return None
        value = value.strip()
        if len(value) != 6 or not value.isascii() or not value.isdigit() or not "01" <= value[4:] <= "12":
            return None
        return value if earliest <= value <= latest else None

    return by_value(values, rule)


_PHONE = f"(?:{_MOBILE.pattern[1:-1]}|{_LANDLINE.pattern[1:-1]}|)"
_PHONES = re.compile(f"{_PHONE}(?:\n{_PHONE})*")  # a column of them, one a line


def phone_column(values: Sequence[Any]) -> list[str | None]:
    """``RowReader.phone(key)`` of an optional number: an empty cell is ""."""
    if values and _all_text(values):
        stripped = list(map(str.strip, values))
        lines = "\n".join(stripped)
        if lines.count("\n") == len(stripped) - 1 and _PHONES.fullmatch(lines):
            return list[str | None](stripped)  # the whole column at once: the usual file

    def rule(value: Any) -> str | None:
        if value is None:
            return ""
        if value.__class__ is not str:
            return None
        value = value.strip()
        return value if not value or _MOBILE.fullmatch(value) or _LANDLINE.fullmatch(value) else None

    return list(map(rule, values))
