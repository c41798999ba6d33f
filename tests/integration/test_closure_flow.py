"""零余额销户 through the running system: an employer with nothing left (added to the stack's databases,
its account bound to the demo UKey) submits its closure, the center's 经办审核 approves it on the real
workflow engine, the employer service checks again (with its own service token, from its worker) and
closes the account; auth hears ``employer.closed``, ends the live session, and the next login says the
account is closed and queries only. The demo employer, with money and members, is told why it cannot."""

from __future__ import annotations

import httpx

from deploy import demo_data as demo
from deploy.stack import Stack

from .helpers import Api, add_clean_employer, center_api, employer_api, password_of, task_of, ukey_login, wait_for

CLEAN_NO = "100100007"
CLEAN_NAME = "太原市示例餐饮有限公司"


def test_an_employer_with_money_is_told_why_and_an_empty_one_closes_and_then_queries_only(stack: Stack) -> None:
    demo_api = employer_api(stack)
    check = demo_api.get("employer", f"/employers/{demo.EMPLOYER_NO}/closure")
    kinds = [b["kind"] for b in check["blockers"]]
    assert check["allowed"] is False and kinds[0] == "balance" and "members" in kinds
    refused = demo_api.call("POST", "employer", f"/employers/{demo.EMPLOYER_NO}/closure")
    assert refused.status_code == 422 and refused.json()["message"].startswith("不满足零余额销户条件：")

    add_clean_employer(stack, CLEAN_NO, CLEAN_NAME, "91140100MA0K00007X")
    api = employer_api(stack, CLEAN_NO, CLEAN_NO)
    base = f"/employers/{CLEAN_NO}/closure"
    assert api.get("employer", base)["allowed"] is True
    submitted = api.call("POST", "employer", base)
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["request"]["id"]
    center = center_api(stack)
    task = task_of(center, "zero_balance_closure", str(request_id))
    done = center.call("POST", "workflow", f"/tasks/{task['task']['id']}/complete",
                       json={"decision": "approve", "opinion": "同意销户"})
    assert done.status_code == 200, done.text

    # Applied by the employer service's worker; auth ends the session that asked (its next call is refused).
    wait_for(lambda: httpx.get(stack.url("employer") + base, headers=api.headers, timeout=5).status_code == 401,
             timeout=60, what="the closed employer's session to end")
    login = ukey_login(stack, CLEAN_NO, password_of(CLEAN_NO))
    assert login.status_code == 200 and login.json()["stage"] == "select", login.text
    selected = httpx.post(stack.url("auth") + "/auth/select", json={"ticket": login.json()["ticket"],
                                                                   "employer_no": CLEAN_NO}, timeout=10)
    assert selected.status_code == 200, selected.text
    assert selected.json()["closed"] is True  # the gateway says: 单位账户已销户，仅可办理查询业务
    assert sorted(selected.json()["principal"]["perms"]) == ["employer_info", "employer_query", "member_query"]
    again = Api.of_session(stack, selected.json())
    profile = {f["name"]: f["value"] for f in again.get("employer", f"/employers/{CLEAN_NO}")["fields"]}
    assert profile["status"] == "04 销户"
    refused_business = again.call("POST", "employer", f"/employers/{CLEAN_NO}/change-requests",
                                  json={"changes": [{"field": "phone", "value": "0351-7654321"}]})
    assert refused_business.status_code == 403  # the closed account may query, nothing else
    messages = wait_for(lambda: [m for m in again.get("notify", f"/employers/{CLEAN_NO}/inbox/message",
                                                      per_page=50)["items"] if "零余额销户" in m["content"]],
                        what="the closure's message")
    assert messages[0]["content"] == f"尊敬的{CLEAN_NAME}，您已完成办理零余额销户（业务编号{request_id}）！"
