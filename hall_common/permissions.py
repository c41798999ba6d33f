"""The permissions an employer account can be given: the home page's modules and queries.

The center grants them per account in the admin console; the token carries them, the gateway hides
what is not granted and every service route checks the one it needs.
"""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "employer_info": "单位基本信息",
    "employer_change": "单位信息变更",
    "base_adjust": "基数调整",
    "supplement": "补缴",
    "employer_query": "单位信息查询",
    "member_register": "缴存人登记",
    "member_change": "缴存人信息变更",
    "member_query": "缴存人信息查询",
    "unseal": "启封",
    "seal": "封存",
    "closure": "零余额销户",
}
ALL_PERMISSIONS: list[str] = list(PERMISSIONS)
