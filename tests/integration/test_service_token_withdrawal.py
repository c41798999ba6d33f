"""A service token withdrawn in the center is refused everywhere within seconds: the running auth
service records the withdrawal and announces it (auth.session_revoked through Redis and the real
Celery worker), and notify and the employer service, which verify tokens locally, refuse it from then on."""

from __future__ import annotations

import time

import httpx

from deploy.stack import Stack

from .helpers import EMPLOYER, center_api, wait_for

WITHIN_SECONDS = 10
REFUSED = "服务令牌已撤销，请联系中心重新签发"


def test_a_withdrawn_push_token_is_refused_by_notify_and_the_employer_directory_within_seconds(
        stack: Stack) -> None:
    center = center_api(stack)
    issued = center.call("POST", "auth", "/service-tokens",
                         json={"name": "it-withdrawn", "permissions": ["push", "employer_list"], "days": 1})
    assert issued.status_code == 201, issued.text
    token, token_id = issued.json()["token"], issued.json()["item"]["id"]
    headers = {"Authorization": f"Bearer {token}"}

    def push(key: str) -> httpx.Response:
        return httpx.post(stack.url("notify") + "/pushes", headers=headers, timeout=10, json={
            "client_key": key, "target": "one", "employer_nos": [EMPLOYER], "channel": "短信",
            "title": "撤销前的推送", "content": "令牌撤销前发出的消息。"})

    def directory() -> httpx.Response:
        return httpx.get(stack.url("employer") + "/employers", params={"limit": 1}, headers=headers, timeout=10)

    assert push("withdraw-it-0001").status_code == 202
    assert directory().status_code == 200

    withdrawn = center.call("POST", "auth", f"/service-tokens/{token_id}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    started = time.monotonic()
    refused = wait_for(lambda: (a := push("withdraw-it-0002")).status_code == 401 and a,
                       timeout=WITHIN_SECONDS, what="notify to refuse the withdrawn token")
    assert refused.json()["message"] == REFUSED
    listed = wait_for(lambda: (a := directory()).status_code == 401 and a, timeout=WITHIN_SECONDS,
                      what="the employer directory to refuse the withdrawn token")
    assert listed.json()["message"] == REFUSED
    assert time.monotonic() - started < WITHIN_SECONDS
    # From then on nothing it asks for happens (the polls above may have pushed during those seconds),
    # and the console lists the token as withdrawn.
    assert push("withdraw-it-0003").status_code == 401
    sent = center.get("notify", "/pushes", per_page=100)["items"]
    keys = [p["client_key"] for p in sent if p["sender"] == "it-withdrawn"]
    assert "withdraw-it-0001" in keys and "withdraw-it-0003" not in keys
    [row] = [t for t in center.get("auth", "/service-tokens")["items"] if t["id"] == token_id]
    assert row["status"] == "withdrawn" and row["withdrawn_by"] == "center01"
