"""The one API document: /api/openapi.json merges every service's own document and covers every route of
every service; /api/docs shows it with Swagger UI served by the gateway itself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from openapi_spec_validator import validate

from gateway import create_app as create_gateway
from gateway.apidocs import EXTENSION_KEY, SERVICES, MergedDocument, fetch_from_service, merge
from hall_common.client import ServiceClient, ServiceError

from .conftest import make_app

METHODS = {"get", "put", "post", "delete", "patch"}


def gateway_over(fetch: Any, seconds: float = 300.0, retry: float = 5.0) -> Flask:
    app = create_gateway()
    app.extensions[EXTENSION_KEY] = MergedDocument(fetch, seconds, retry)
    return app


def small_document(service: str) -> dict[str, Any]:
    """A service document shaped as flask-smorest writes one: the same names in every service."""
    return {
        "openapi": "3.0.3",
        "info": {"title": service, "version": "v1"},
        "tags": [{"name": "health", "description": "Liveness"}],
        "paths": {
            "/health": {"get": {"tags": ["health"], "x-access": ["public"],
                                "responses": {"200": {"description": "OK"}}}},
            "/things/{thing_id}": {
                "parameters": [{"in": "path", "name": "thing_id", "required": True, "schema": {"type": "integer"}}],
                "get": {"tags": ["things"], "x-access": ["employer"], "responses": {
                    "200": {"description": "OK", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "default": {"$ref": "#/components/responses/DEFAULT_ERROR"}}},
            },
        },
        "components": {
            "schemas": {"Thing": {"type": "object", "properties": {"owner": {"type": "string", "enum": [service]}}},
                        "Error": {"type": "object"}},
            "responses": {"DEFAULT_ERROR": {"description": "Error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}},
        },
    }


def refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "$ref"] + [r for v in value.values() for r in refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs(v)]
    return []


def resolves(spec: dict[str, Any], ref: str) -> bool:
    _, _, section, name = ref.split("/", 3)
    return name in spec["components"].get(section, {})


def test_the_merged_document_covers_every_route_of_every_service() -> None:
    apps = {service: make_app(service, seed=False) for service in SERVICES}
    asked: list[str] = []

    def fetch(service: str) -> dict[str, Any]:
        asked.append(service)
        answer = apps[service].test_client().get("/openapi.json")
        assert answer.status_code == 200  # no token: each service's own document is public too
        return dict(answer.get_json())

    answer = gateway_over(fetch).test_client().get("/api/openapi.json")  # no session: public
    assert answer.status_code == 200
    spec = answer.get_json()
    validate(spec)  # a valid OpenAPI 3.0 document, every $ref resolving
    assert sorted(asked) == sorted(SERVICES)

    missing, rules = [], 0
    for service, app in apps.items():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or rule.endpoint.startswith("api-docs."):
                continue  # the service's own document (and static files, if any)
            path = f"/{service}" + re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule.rule)
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                rules += 1
                if method.lower() not in spec["paths"].get(path, {}):
                    missing.append(f"{method} {path}")
    assert missing == []
    assert rules >= 150  # the six services' routes, not an empty map
    operations = [(path, method, op) for path, item in spec["paths"].items()
                  for method, op in item.items() if method in METHODS]
    assert len(operations) == rules  # nothing invented either

    # The token is the scheme; the public routes say they need none.
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": spec["components"][
            "securitySchemes"]["bearerAuth"]["description"]}
    for path, _, op in operations:
        assert op["security"] == ([] if "public" in op["x-access"] else [{"bearerAuth": []}]), path
    assert spec["paths"]["/notify/health"]["get"]["security"] == []
    assert spec["paths"]["/notify/pushes"]["post"]["security"] == [{"bearerAuth": []}]
    assert "service:push" in spec["paths"]["/notify/pushes"]["post"]["x-access"]
    assert all(resolves(spec, ref) for ref in refs(spec))
    assert all(op["tags"] and op["tags"][0].startswith(path.split("/")[1]) for path, _, op in operations)


def test_same_names_in_two_services_stay_apart() -> None:
    spec = merge({"auth": small_document("auth"), "notify": small_document("notify")})
    validate(spec)
    assert {"/auth/health", "/notify/health", "/auth/things/{thing_id}", "/notify/things/{thing_id}"} == set(
        spec["paths"])
    notify_thing = spec["paths"]["/notify/things/{thing_id}"]["get"]["responses"]["200"]
    ref = notify_thing["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/notify.Thing"
    assert spec["components"]["schemas"]["notify.Thing"]["properties"]["owner"]["enum"] == ["notify"]
    assert spec["components"]["schemas"]["auth.Thing"]["properties"]["owner"]["enum"] == ["auth"]
    assert spec["components"]["responses"]["auth.DEFAULT_ERROR"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/auth.Error"}
    assert spec["paths"]["/auth/things/{thing_id}"]["parameters"][0]["name"] == "thing_id"
    assert spec["paths"]["/auth/things/{thing_id}"]["x-service"] == "auth"
    assert spec["paths"]["/auth/things/{thing_id}"]["get"]["tags"] == ["auth: things"]
    assert {"name": "notify: health", "description": "Liveness"} in spec["tags"]


def test_the_document_is_built_once_per_period_and_answers_not_modified() -> None:
    asked: list[str] = []

    def fetch(service: str) -> dict[str, Any]:
        asked.append(service)
        return small_document(service)

    app = gateway_over(fetch)
    client = app.test_client()
    first = client.get("/api/openapi.json")
    second = client.get("/api/openapi.json")
    assert first.status_code == second.status_code == 200
    assert first.data == second.data
    assert len(asked) == len(SERVICES)  # the second answer came from the process's copy
    assert "max-age=300" in first.headers["Cache-Control"]
    again = client.get("/api/openapi.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""

    app.extensions[EXTENSION_KEY].seconds = 0  # the period over: the services are asked again
    client.get("/api/openapi.json")
    assert len(asked) == 2 * len(SERVICES)


def test_a_service_that_does_not_answer_is_named_and_the_last_good_document_served() -> None:
    down: set[str] = {"payment"}
    asked: list[str] = []

    def fetch(service: str) -> dict[str, Any]:
        asked.append(service)
        if service in down:
            raise ServiceError(service, 503, "服务暂不可用，请稍后再试")
        return small_document(service)

    app = gateway_over(fetch, seconds=0, retry=300)
    document = app.extensions[EXTENSION_KEY]
    client = app.test_client()
    refused = client.get("/api/openapi.json")
    assert refused.status_code == 503
    assert refused.get_json() == {"message": "接口文档暂不可用：payment服务未响应，请稍后再试"}
    asked.clear()
    assert client.get("/api/openapi.json").status_code == 503
    assert asked == []  # within the retry pause the services are not asked again

    down.clear()
    document.retry = 0
    good = client.get("/api/openapi.json")
    assert good.status_code == 200
    assert "/payment/health" in good.get_json()["paths"]
    down.add("notify")
    stale = client.get("/api/openapi.json")  # a document missing notify would mislead: the last good one
    assert stale.status_code == 200
    assert stale.data == good.data


def test_while_one_request_builds_the_others_serve_the_previous_document() -> None:
    document = MergedDocument(small_document, seconds=0)
    first = document.get()
    with document.lock:  # another request is building
        assert document.get() == first


def test_the_docs_page_is_swagger_ui_from_the_gateway_without_inline_script() -> None:
    asked: list[str] = []
    client = gateway_over(lambda service: asked.append(service) or small_document(service)).test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "接口文档" in html
    assert 'data-url="/api/openapi.json"' in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)  # CSP: no inline
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs, _ in scripts]  # type: ignore[union-attr]
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert "/vendor/swagger-ui-dist/swagger-ui-bundle.js" in sources
    assert "/vendor/swagger-ui-dist/swagger-ui.css" in styles
    for url in sources + styles:
        assert url.startswith("/"), url  # served by the hall, never a CDN
        asset = client.get(url)
        assert asset.status_code == 200, url
        asset.close()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert asked == []  # the page itself asks no service; the browser loads the document


def test_each_service_is_asked_for_its_own_document_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str, str, dict[str, str]]] = []

    def fake_request(self: ServiceClient, method: str, path: str, **kwargs: Any) -> Any:
        asked.append((self.service, method, path, dict(self.headers)))
        return small_document(self.service) if self.service != "payment" else "<html>"

    monkeypatch.setattr(ServiceClient, "request", fake_request)
    assert fetch_from_service("notify")["info"]["title"] == "notify"
    assert asked == [("notify", "GET", "/openapi.json", {})]  # no Authorization: the document is public there
    with pytest.raises(ServiceError) as refused:  # an answer that is not a document: the service not answering
        fetch_from_service("payment")
    assert (refused.value.service, refused.value.status) == ("payment", 503)
