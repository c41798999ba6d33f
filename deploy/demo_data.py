"""The demo employers, their members in mixed states, the logins and the demo UKey of make run."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stdnum.cn import ric

from hall_common.permissions import ALL_CENTER_PERMISSIONS, ALL_PERMISSIONS

INITIAL_PASSWORD = "111111"
CENTER_LOGIN = "center01"
CENTER_PASSWORD = "center123"
CENTER_NAME = "中心审核员李明"
# The center's admin: every center permission, through the 系统管理员 role, and every default group.
CENTER_PERMISSIONS = list(ALL_CENTER_PERMISSIONS)
CENTER_ROLE = ("admin", "系统管理员")
CENTER_GROUPS = ["handler", "reviewer", "chief"]
# A second center account, a plain reviewer (复核, no admin rights): the admin console's 用户组 page has
# someone to add without ending the admin's own session, and the console's refusals have a user.
REVIEWER_LOGIN = "center02"
REVIEWER_PASSWORD = "center123"
REVIEWER_NAME = "中心复核员张华"
REVIEWER_GROUPS = ["reviewer"]
# A second administrator (系统管理员 too, no approval groups): the second person that confirms a UKey
# issue or a password reset another administrator requested (dual control).
ADMIN2_LOGIN = "center03"
ADMIN2_PASSWORD = "center123"
ADMIN2_NAME = "中心管理员王芳"
RATIO = Decimal("0.12")
# The demo UKey: a SoftHSM2 token the agent signs with; the center's CA certifies its key.
UKEY_LABEL = "HALL-DEMO-UKEY"
UKEY_PIN = "123456"
UKEY_SO_PIN = "12345678"


def _employer(no: str, name: str, credit_code: str, address: str, operator: str, mobile: str) -> dict[str, Any]:
    return {
        "employer_no": no, "name": name, "credit_code": credit_code, "open_date": date(2015, 3, 18),
        "status": "01", "employer_ratio": RATIO, "personal_ratio": RATIO, "address": address,
        "postcode": "030006", "legal_representative": "赵建国", "contact_name": operator,
        "contact_mobile": mobile, "phone": "0351-7654321",
    }


EMPLOYERS: list[dict[str, Any]] = [
    _employer("100100001", "太原市示例科技有限公司", "91350100M000100Y43", "山西省太原市小店区长治路100号",
              "王晓燕", "13935100001"),
    _employer("100100002", "太原市示例商贸有限公司", "91110108551385082Q", "山西省太原市迎泽区柳巷18号",
              "王晓燕", "13935100001"),
]
EMPLOYER_NO = EMPLOYERS[0]["employer_no"]
EMPLOYER_NAME = EMPLOYERS[0]["name"]
SECOND_EMPLOYER_NO = EMPLOYERS[1]["employer_no"]
# The second account shows permissions at work: queries only, no business.
PERMISSIONS = {
    EMPLOYER_NO: ALL_PERMISSIONS,
    SECOND_EMPLOYER_NO: ["employer_info", "employer_query", "member_query"],
}

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋",
          "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平"]
# The first employer: 40 normal, 6 sealed, 2 frozen, 2 closed by withdrawal, then 230 more normal ones
# (enough for a base adjustment of two hundred by import beside the single and batch-edit ones); the
# second: 5 normal.
_STATUSES = {EMPLOYER_NO: ["01"] * 40 + ["02"] * 6 + ["06"] * 2 + ["05"] * 2 + ["01"] * 230,
             SECOND_EMPLOYER_NO: ["01"] * 5}


# The center's policy (政策参数), Taiyuan-like: the base from the minimum wage to three times the
# previous year's average monthly wage, the adjustment year from 1 July; ratios 5%-12% each side; the
# monthly amount's bounds follow (lowest base at 5%+5%, highest at 12%+12%); each part HALF_UP to the fen;
# interest 1.5% a year on both the year's deposits (当年归集) and the balance carried over (上年结转).
POLICIES: list[dict[str, Any]] = [
    {"effective_from": date(2025, 7, 1), "base_min": Decimal("1880.00"), "base_max": Decimal("26952.00"),
     "amount_min": Decimal("188.00"), "amount_max": Decimal("6468.48"), "note": "2025年度缴存基数上下限"},
    {"effective_from": date(2026, 7, 1), "base_min": Decimal("1980.00"), "base_max": Decimal("28512.00"),
     "amount_min": Decimal("198.00"), "amount_max": Decimal("6842.88"), "note": "2026年度缴存基数上下限"},
]
for _policy in POLICIES:
    _policy.update(employer_ratio_min=Decimal("0.0500"), employer_ratio_max=Decimal("0.1200"),
                   personal_ratio_min=Decimal("0.0500"), personal_ratio_max=Decimal("0.1200"),
                   amount_places="0.01", rounding="ROUND_HALF_UP", current_rate=Decimal("0.015000"),
                   carried_rate=Decimal("0.015000"), created_by="system")


def _part(base: Decimal) -> Decimal:
    """One side's monthly part at the demo ratio: to the fen, HALF_UP (the policy's rule)."""
    return (base * RATIO).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _id_number(index: int) -> str:
    born = date(1970 + index % 30, 1 + index % 12, 1 + index % 28)
    body = f"140105{born:%Y%m%d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # the function expects a placeholder check digit


def members(employer_no: str = EMPLOYER_NO) -> list[dict[str, Any]]:
    offset = 0 if employer_no == EMPLOYER_NO else 500
    result = []
    for i, status in enumerate(_STATUSES[employer_no]):
        n = i + offset
        base = Decimal(3000 + (n * 937) % 17000) + Decimal(n % 100) / 100  # within every POLICIES' bounds
        opened = date(2015 + n % 10, 1 + n % 12, 1)
        result.append({
            "member_no": f"{employer_no}{i + 1:04d}",
            "employer_no": employer_no,
            "name": _SURNAMES[n % len(_SURNAMES)] + _GIVEN[(n * 7) % len(_GIVEN)],
            "id_number": _id_number(n),
            "base": base,
            "employer_ratio": RATIO,
            "personal_ratio": RATIO,
            "employer_amount": _part(base),
            "personal_amount": _part(base),
            "first_month": f"{opened:%Y%m}",
            "status": status,
            "open_date": opened,
            "balance": Decimal(0) if status == "05" else Decimal(5000 + (n * 1733) % 60000) + Decimal(n % 7) / 4,
        })
    return result
