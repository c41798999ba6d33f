"""The one API document on the real stack: the gateway asks the six running services for their documents
over HTTP, and a program that follows the combined document reaches the right service with the rule the
document states (the path without its service prefix, at that service's address)."""

from __future__ import annotations

import re

import httpx
import pytest
from openapi_spec_validator import validate

from deploy.stack import Stack
from gateway.apidocs import SERVICES

from .helpers import employer_api

pytestmark = pytest.mark.integration


def test_the_gateway_publishes_every_running_service_and_the_paths_lead_to_them(stack: Stack) -> None:
    gateway = stack.url("gateway")
    answer = httpx.get(gateway + "/api/openapi.json", timeout=30)  # no session: public
    assert answer.status_code == 200, answer.text[:300]
    spec = answer.json()
    validate(spec)
    again = httpx.get(gateway + "/api/openapi.json", headers={"If-None-Match": answer.headers["ETag"]}, timeout=10)
    assert again.status_code == 304

    for service in SERVICES:
        own = httpx.get(stack.url(service) + "/openapi.json", timeout=10).json()
        for path, item in own["paths"].items():
            merged = spec["paths"][f"/{service}{path}"]
            assert {m for m in item if m in ("get", "post", "put", "patch", "delete")} <= set(merged), path

    # The document's rule, followed: /<service>/<rest> is <rest> at the service's own address.
    health = spec["paths"]["/notify/health"]["get"]
    assert health["security"] == []
    assert httpx.get(stack.url("notify") + "/health", timeout=10).json()["service"] == "notify"
    pushes = spec["paths"]["/notify/pushes"]["get"]
    assert pushes["security"] == [{"bearerAuth": []}]
    assert httpx.get(stack.url("notify") + "/pushes", timeout=10).status_code == 401  # without the token
    # With an employer's token the route refuses on its access words, as x-access says (center or service).
    assert "employer" not in pushes["x-access"]
    assert employer_api(stack).call("GET", "notify", "/pushes").status_code == 403


def test_the_docs_page_loads_swagger_ui_from_the_gateway(stack: Stack) -> None:
    gateway = stack.url("gateway")
    page = httpx.get(gateway + "/api/docs", timeout=10)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assets = re.findall(r'(?:src|href)="(/(?:vendor|static)/[^"]+)"', page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert httpx.get(gateway + asset, timeout=10).status_code == 200, asset
