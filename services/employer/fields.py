"""The employer's registered information as the change page shows it.

Greyed fields (置灰项) are shown but may not change here: the name, credit code and status change
only through the center's own business; ratios change through their own adjustment.
"""

from __future__ import annotations

from hall_common import validators
from hall_common.change_roster import ChangeField

STATUS_NAMES = {"01": "正常", "02": "开户", "03": "缓缴", "04": "销户", "05": "封存", "99": "其他"}

# An item of the profile: the change roster's field (hall_common.change_roster), configured here.
ProfileField = ChangeField


PROFILE_FIELDS: tuple[ProfileField, ...] = (
    ProfileField("employer_no", "单位账号", False),
    ProfileField("name", "单位名称", False),
    ProfileField("credit_code", "统一社会信用代码", False),
    ProfileField("open_date", "开户日期", False),
    ProfileField("status", "单位账户状态", False),
    ProfileField("employer_ratio", "单位缴存比例", False),
    ProfileField("personal_ratio", "个人缴存比例", False),
    ProfileField("address", "单位地址", True, validators.text(200, "单位地址"), 200),
    ProfileField("postcode", "邮政编码", True, validators.postcode, 6),
    ProfileField("legal_representative", "法定代表人", True, validators.text(50, "法定代表人"), 50),
    ProfileField("contact_name", "经办人姓名", True, validators.text(50, "经办人姓名"), 50),
    ProfileField("contact_mobile", "经办人手机", True, validators.mobile, 14),
    ProfileField("phone", "单位联系电话", True, validators.phone, 14),
)
FIELDS_BY_NAME = {f.name: f for f in PROFILE_FIELDS}
