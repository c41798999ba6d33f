"""补缴 (manual ch. 5): the roster page of the payment service's 补缴.

The page is the roster pages' (gateway/rosters.py, templates/roster.html): 个人账号 by the type-ahead
with the member's name and ID echoed, 补缴原因, 补缴年月 and 补缴金额, then 录入 (answered with the
amount recorded); 批量导入 with its template; the roster with 删除 (确定 / 取消); 提交, which the payment
service refuses while the unallocated amount does not cover the roster's total. The unallocated amount
that pays it is shown under the title, read from the payment service's account summary.
"""

from __future__ import annotations

from typing import Any

from hall_common.client import ServiceError

from . import session as sessions
from .filters import money
from .rosters import Roster, _employer_no, _roster_page, roster_action
from .views import bp

TYPE = "supplementary_payment"


@bp.route("/supplement", methods=["GET", "POST"])
def supplement() -> Any:
    """补缴 (manual ch. 5)."""
    return roster_action(_page)(TYPE)


NOTE = "本单位未分配金额：{amount}元。补缴通过未分配金额缴款，提交时清册合计金额不得超过未分配金额。"


def _page(roster: Roster) -> Any:
    try:
        unallocated = sessions.client("payment").get(f"/employers/{_employer_no()}/account")["unallocated"]
    except ServiceError as exc:
        if exc.status != 404:  # an employer no money has reached yet has no account: nothing unallocated
            raise
        unallocated = "0.00"
    return _roster_page(roster, note=NOTE.format(amount=money(unallocated)))
