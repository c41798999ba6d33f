"""接口文档 (/api/docs) in Chromium: a developer of a downstream system opens it without signing in, finds
every service's operations drawn by Swagger UI from the gateway (no CDN: the page's CSP allows only the
hall's own scripts, and the conftest fails on any violation, script error or serious a11y finding), opens
one operation and reads who may call it; the page never offers to call the API."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from deploy.stack import Stack
from gateway.apidocs import SERVICES


def test_a_developer_reads_every_services_operations_without_signing_in(browser: Browser, stack: Stack) -> None:
    page = browser.new_page()
    page.goto(stack.url("gateway") + "/api/docs")
    expect(page.get_by_role("heading", name="接口文档")).to_be_visible()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("住房公积金 单位网上服务大厅 API")
    # One section per service, each named by it (its tags are "<service>: <blueprint>").
    sections = page.locator(".swagger-ui .opblock-tag")
    expect(sections.first).to_be_visible()
    names = sections.all_inner_texts()
    for service in SERVICES:
        assert any(name.strip().startswith(service) for name in names), (service, names)

    # Open the notify service's inboxes section and its push list: the path carries the service's name.
    page.get_by_role("heading", name=re.compile(r"^notify: notify ")).click()
    operation = page.locator(".swagger-ui .opblock",
                             has=page.locator(".opblock-summary-path[data-path='/notify/pushes']")).first
    expect(operation).to_be_visible()
    operation.locator(".opblock-summary-control").first.click()
    expect(operation.locator(".opblock-body")).to_be_visible()
    expect(operation.locator(".authorization__btn")).to_have_count(1)  # the lock: a bearer token is required
    # Read-only: no 试一试 / "Try it out" and no Execute, so no token ever passes through the page.
    expect(page.locator(".try-out__btn")).to_have_count(0)
    expect(page.get_by_role("button", name="Execute")).to_have_count(0)

    # The machine-readable document is one click away.
    with page.expect_navigation():
        page.locator("#apidocs-json").click()
    assert page.url.endswith("/api/openapi.json")
    assert '"openapi"' in page.content()
    page.close()
