"""The login through the running UKey agent, and employer scope on every route of every service."""

from __future__ import annotations

import re

import httpx

from deploy import demo_data as demo
from deploy.stack import Stack
from hall_common.settings import SERVICES

from .helpers import Api, employer_api, submit_change, ukey_login, wait_for

A, B = demo.EMPLOYER_NO, demo.SECOND_EMPLOYER_NO


def _employer_routes(stack: Stack) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """Every (service, method, path, access words) of every service whose path names an employer, from
    its OpenAPI (``x-access``: who may call it, hall_common.access)."""
    routes = []
    for service in SERVICES:
        spec = httpx.get(stack.url(service) + "/openapi.json").json()
        for path, operations in spec["paths"].items():
            if "{employer_no}" in path:
                routes += [(service, method.upper(), path, tuple(operation.get("x-access", ())))
                           for method, operation in operations.items() if method != "parameters"]
    return routes


def _call(api: Api, service: str, method: str, path: str, employer_no: str) -> httpx.Response:
    url = re.sub(r"\{[a-z_]+\}", "1", path.replace("{employer_no}", employer_no))
    body = {"changes": [{"field": "postcode", "value": "030001"}]} if method in ("POST", "PUT") else None
    return api.call(method, service, url, json=body)


def test_a_token_of_employer_a_is_refused_on_every_route_of_employer_b(stack: Stack) -> None:
    routes = _employer_routes(stack)
    assert {service for service, *_ in routes} >= {"employer", "member", "payment", "notify"}
    assert len(routes) >= 10
    for api, other in ((employer_api(stack, A, A), B), (employer_api(stack, A, B), A)):
        for service, method, path, words in routes:
            response = _call(api, service, method, path, other)
            assert response.status_code == 403, (service, method, path, response.text)
            # A route for employers checks the employer in its path; one only for services (a worker's
            # read, e.g. the monthly amounts the bills are made of) refuses any employer's token first.
            expected = "无权访问其他单位的数据" if "employer" in words else "当前账号无权进行该操作"
            assert response.json()["message"] == expected, (service, method, path, words)


def test_one_key_two_employers_each_session_with_its_accounts_permissions(stack: Stack) -> None:
    second = employer_api(stack, A, B)
    refused = submit_change(second, {"postcode": "030001"}, employer_no=B)
    assert refused.status_code == 403
    assert refused.json()["message"] == "当前账号无权办理该业务"
    assert second.get("member", f"/employers/{B}/members")["total"] == 5
    workflow_tasks = second.call("GET", "workflow", "/tasks")
    assert workflow_tasks.status_code == 403


def test_login_refusals_through_the_real_agent(stack: Stack) -> None:
    employer_api(stack, A)  # the password is no longer the initial one
    wrong = ukey_login(stack, A, "not-my-password1")
    assert wrong.status_code == 401
    assert wrong.json()["message"].startswith("登录失败：单位账号、登录名称、密码或UKey验证未通过，还可尝试")
    agent_foreign = httpx.post(stack.agent_url + "/sign", json={"nonce": "AQ==", "pin": demo.UKEY_PIN},
                               headers={"Origin": "https://evil.example"})
    assert agent_foreign.status_code == 403


def test_logout_revokes_the_token_in_every_service(stack: Stack) -> None:
    api = employer_api(stack, A)
    assert api.call("GET", "employer", f"/employers/{A}").status_code == 200
    assert api.call("POST", "auth", "/auth/logout").status_code == 200

    def refused_everywhere() -> bool:
        return all(
            api.call("GET", service, path).status_code == 401
            for service, path in (("employer", f"/employers/{A}"), ("member", f"/employers/{A}/members"),
                                  ("payment", f"/employers/{A}/account"), ("notify", f"/employers/{A}/inbox-counts"))
        )

    wait_for(refused_everywhere, what="the revocation to reach every service")
    assert api.call("GET", "employer", f"/employers/{A}").json()["message"] == "已退出登录，请重新登录"
