"""The demo employer, its ~50 members in mixed states, and the logins of make run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from stdnum.cn import ric

EMPLOYER_NO = "100100001"
EMPLOYER_NAME = "太原市示例科技有限公司"
EMPLOYER_PASSWORD = "111111"
OPERATOR_NAME = "王晓燕"
CENTER_LOGIN = "center01"
CENTER_PASSWORD = "center123"
CENTER_NAME = "中心审核员李明"
RATIO = Decimal("0.12")

EMPLOYER = {
    "employer_no": EMPLOYER_NO,
    "name": EMPLOYER_NAME,
    "credit_code": "91350100M000100Y43",
    "open_date": date(2015, 3, 18),
    "status": "01",
    "employer_ratio": RATIO,
    "personal_ratio": RATIO,
    "address": "山西省太原市小店区长治路100号",
    "postcode": "030006",
    "legal_representative": "赵建国",
    "contact_name": OPERATOR_NAME,
    "contact_mobile": "13935100001",
    "phone": "0351-7654321",
}

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋",
          "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平"]
# 40 normal, 6 sealed, 2 frozen, 2 closed by withdrawal
_STATUSES = ["01"] * 40 + ["02"] * 6 + ["06"] * 2 + ["05"] * 2


def _id_number(index: int) -> str:
    born = date(1970 + index % 30, 1 + index % 12, 1 + index % 28)
    body = f"140105{born:%Y%m%d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # the function expects a placeholder check digit


def members() -> list[dict[str, Any]]:
    result = []
    for i, status in enumerate(_STATUSES):
        result.append({
            "member_no": f"{EMPLOYER_NO}{i + 1:04d}",
            "employer_no": EMPLOYER_NO,
            "name": _SURNAMES[i % len(_SURNAMES)] + _GIVEN[(i * 7) % len(_GIVEN)],
            "id_number": _id_number(i),
            "base": Decimal(3000 + (i * 937) % 17000) + Decimal(i % 100) / 100,
            "employer_ratio": RATIO,
            "personal_ratio": RATIO,
            "status": status,
            "open_date": date(2015 + i % 10, 1 + i % 12, 1),
            "balance": Decimal(0) if status == "05" else Decimal(5000 + (i * 1733) % 60000) + Decimal(i % 7) / 4,
        })
    return result
