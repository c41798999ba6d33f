"""Field rules from DOMAIN.md as marshmallow validators with Chinese messages."""

from __future__ import annotations

import re
from collections.abc import Callable

from marshmallow import ValidationError
from stdnum.cn import ric, uscc

Validator = Callable[[str], None]

_MOBILE = re.compile(r"^(\+86)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_POSTCODE = re.compile(r"^\d{6}$")


def _rule(pattern: re.Pattern[str], message: str) -> Validator:
    def check(value: str) -> None:
        if not pattern.match(value or ""):
            raise ValidationError(message)

    return check


mobile = _rule(_MOBILE, "手机号码格式不正确，应为11位手机号")
landline = _rule(_LANDLINE, "固定电话格式不正确，如 0351-1234567")
postcode = _rule(_POSTCODE, "邮政编码格式不正确，应为6位数字")


def phone(value: str) -> None:
    """A contact number may be a mobile or a landline."""
    if not (_MOBILE.match(value or "") or _LANDLINE.match(value or "")):
        raise ValidationError("联系电话格式不正确，应为手机号或固定电话（如 0351-1234567）")


def credit_code(value: str) -> None:
    if not uscc.is_valid(value or ""):
        raise ValidationError("统一社会信用代码不正确（应为18位且校验位正确）")


def is_resident_id(value: str) -> bool:
    """GB 11643: 17 digits, a real birth date, the MOD 11-2 check character; ``x`` counts as ``X``.

    python-stdnum's ``ric.is_valid`` also requires the birthplace code in its own table, which lags
    behind real (and retired) county codes, so that part is deliberately not applied.
    """
    number = (value or "").strip().upper()
    if len(number) != 18 or not number[:17].isdigit():
        return False
    if number[17] != ric.calc_check_digit(number):
        return False
    try:
        ric.get_birth_date(number)
    except ValueError:
        return False
    return True


def id_number(value: str) -> None:
    if not is_resident_id(value):
        raise ValidationError("身份证号码不正确（应为18位且出生日期、校验位正确）")


def text(max_length: int, label: str) -> Validator:
    def check(value: str) -> None:
        if not (value or "").strip():
            raise ValidationError(f"{label}不能为空")
        if len(value) > max_length:
            raise ValidationError(f"{label}不能超过{max_length}个字")

    return check


def int_range(low: int, high: int, label: str) -> Validator:
    def check(value: str) -> None:
        if not (value or "").isdigit() or not low <= int(value) <= high:
            raise ValidationError(f"{label}应为{low}到{high}之间的整数")

    return check
