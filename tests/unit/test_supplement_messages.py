"""补缴's outcomes as the employer reads them: the payment service's own events, consumed by the real
notify service, give one message each: booked (the amount) or approved but not booked (the shortfall)."""

from __future__ import annotations

import pytest

from hall_common.consumer import consume

from .conftest import make_app, outbox_events
from .supplement_support import NORMAL, add, business_ids, commit, decide, entry, fund, spend, with_members


def test_the_employer_is_told_the_amount_booked_or_the_shortfall(
    monkeypatch: pytest.MonkeyPatch, employer_headers: dict[str, str]
) -> None:
    with_members(monkeypatch)
    payment = make_app("payment")
    fund(payment, "1000.00")
    for member in NORMAL[:2]:
        add(payment, employer_headers, entry(member["member_no"], "202501", "600.00"))
        assert commit(payment, employer_headers).status_code == 201
    booked, short = business_ids(payment)
    assert decide(payment, booked) == "processed"
    spend(payment, "100.00", "bill-pay:meanwhile")  # 300.00 left for a 600.00 补缴
    assert decide(payment, short) == "processed"
    told = [e for e in outbox_events(payment) if e["type"].startswith("payment.")]
    assert [e["type"] for e in told] == ["payment.supplemented", "payment.supplement_failed"]
    notify = make_app("notify")
    with notify.app_context():
        for event in told:
            assert consume(event) == "processed"
    page = notify.test_client().get("/employers/100100001/inbox/message", headers=employer_headers).get_json()
    contents = {item["business_id"]: item["content"] for item in page["items"]}
    assert contents == {
        booked: f"尊敬的{told[0]['data']['employer_name']}，您已完成办理补缴（业务编号{booked}，笔数：1笔），"
                "补缴金额600.00元已由未分配金额转入缴存人账户！",
        short: f"尊敬的{told[1]['data']['employer_name']}，您提交的补缴业务（业务编号{short}，笔数：1笔）已审核通过，"
               "但未分配金额不足：需600.00元，现有300.00元，差额300.00元，未能入账。请待资金到账后重新办理补缴。",
    }
