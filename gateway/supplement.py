"""补缴 (manual ch. 5): the roster page of the payment service's 补缴.

The page is the roster pages' (gateway/rosters.py, templates/roster.html): 个人账号 by the type-ahead
with the member's name and ID echoed, 补缴原因, 补缴年月 and 补缴金额, then 录入 (answered with the
amount recorded); 批量导入 with its template; the roster with 删除 (确定 / 取消); 提交, which the payment
service refuses while the unallocated amount does not cover the roster's total.
"""

from __future__ import annotations

from typing import Any

from .rosters import _roster_page, roster_action
from .views import bp

TYPE = "supplementary_payment"


@bp.route("/supplement", methods=["GET", "POST"])
def supplement() -> Any:
    """补缴 (manual ch. 5)."""
    return roster_action(_roster_page)(TYPE)
