"""One API document for programs: every service's OpenAPI merged at ``/api/openapi.json`` and shown to
people at ``/api/docs`` (Swagger UI from npm, served by the gateway's vendor route; no CDN).

Public, like each service's own ``/openapi.json`` (which every service serves without a token): the
document holds shapes and the access words of each operation, never data, and its readers are the
developers of downstream systems, who hold a service token, not a gateway session. The page sends no
request to the API itself (Swagger UI's "try it out" is off), so no token ever passes through it.

Paths are prefixed with their service (``/notify/pushes`` is notify's ``/pushes``) so the six documents'
``/health``, ``/dead-letters`` and the like do not collide, and their components are renamed alike
(``notify.Push``). The merged document is kept per gateway process for ``CACHE_SECONDS``: the services'
routes change only when they are deployed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Flask, Response, current_app, render_template, request

from hall_common.access import OPENAPI_KEY
from hall_common.client import ServiceClient, ServiceError, gather

SERVICES = ("auth", "employer", "member", "payment", "workflow", "notify")
CACHE_SECONDS = 300.0
RETRY_SECONDS = 5.0
SCHEME = "bearerAuth"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
EXTENSION_KEY = "hall.apidocs"
UNAVAILABLE = "接口文档暂不可用：{service}服务未响应，请稍后再试"
DESCRIPTION = """\
The employer hall's services in one document. A path `/<service>/<rest>` is the service's own `<rest>`:
call it at that service's base URL (`HALL_<SERVICE>_URL`, given to a downstream system by the center),
never through this gateway. Every operation but the public ones (login steps, health, this description)
needs `Authorization: Bearer <token>`: an operator's access token (the gateway's session holds it) or a
service token issued by the center (console 服务令牌, or `python -m services.auth.service_tokens issue`).
Each operation's `x-access` lists who may call it (`employer`, `center:<permission>`,
`service:<permission>`, `signed_in`, `public`); any other caller is refused with 401 or 403 before
anything is looked up. Errors answer `{"code", "status", "message", "errors"}` with a Chinese message."""

Fetch = Callable[[str], dict[str, Any]]

bp = Blueprint("apidocs", __name__)


def fetch_from_service(service: str) -> dict[str, Any]:
    """A service's own document, asked without a token (it is public there too)."""
    document = ServiceClient(service).get("/openapi.json")
    if not isinstance(document, dict):
        raise ServiceError(service, 503, "服务暂不可用，请稍后再试")
    return document


def _renamed_refs(value: Any, service: str) -> Any:
    """The value with every local ``$ref`` pointing at the service's renamed component."""
    if isinstance(value, dict):
        return {key: (f"#/components/{item.split('/', 3)[2]}/{service}.{item.split('/', 3)[3]}"
                      if key == "$ref" and isinstance(item, str) and item.startswith("#/components/")
                      else _renamed_refs(item, service))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed_refs(item, service) for item in value]
    return value


def _operation(operation: dict[str, Any], service: str) -> dict[str, Any]:
    merged = dict(operation)
    merged["tags"] = [f"{service}: {tag}" for tag in operation.get("tags", [])] or [service]
    if "operationId" in operation:
        merged["operationId"] = f"{service}.{operation['operationId']}"
    # The services declare who may call a route (x-access), not how: the token is the one scheme.
    merged["security"] = [] if "public" in (operation.get(OPENAPI_KEY) or []) else [{SCHEME: []}]
    return merged


def merge(documents: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The services' documents as one OpenAPI 3.0 document, each service's paths and components under
    its name."""
    paths: dict[str, Any] = {}
    components: dict[str, dict[str, Any]] = {}
    tags: list[dict[str, Any]] = []
    version = "3.0.3"
    for service, original in documents.items():
        document = _renamed_refs(original, service)
        version = str(document.get("openapi", version))
        for section, entries in (document.get("components") or {}).items():
            target = components.setdefault(section, {})
            target.update({f"{service}.{name}": entry for name, entry in entries.items()})
        for tag in document.get("tags", []):
            tags.append({**tag, "name": f"{service}: {tag['name']}"})
        for path, item in document.get("paths", {}).items():
            paths[f"/{service}{path}"] = {
                **{key: value for key, value in item.items() if key not in METHODS},
                **{key: _operation(value, service) for key, value in item.items() if key in METHODS},
                "x-service": service,
            }
    components.setdefault("securitySchemes", {})[SCHEME] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An operator's access token (ES256, 5 minutes) or a service token issued by the center.",
    }
    used = {tag for item in paths.values() for key, op in item.items() if key in METHODS for tag in op["tags"]}
    tags += [{"name": service} for service in documents if service in used]
    return {
        "openapi": version,
        "info": {"title": "住房公积金 单位网上服务大厅 API", "version": "v1", "description": DESCRIPTION},
        "tags": tags,
        "paths": paths,
        "components": components,
        "security": [{SCHEME: []}],
    }


class MergedDocument:
    """The merged document of one gateway process, built at most once per ``CACHE_SECONDS`` by one request
    at a time (the others serve the previous document meanwhile, or wait when there is none yet). A
    service that does not answer fails the build: the last good document is served, since one missing a
    service would mislead, and no build is tried again for ``RETRY_SECONDS``, so a public address cannot
    make the gateway ask the services on every request."""

    def __init__(self, fetch: Fetch, seconds: float = CACHE_SECONDS, retry: float = RETRY_SECONDS) -> None:
        self.fetch = fetch
        self.seconds = seconds
        self.retry = retry
        self.lock = threading.Lock()
        self.built: tuple[float, bytes, str] | None = None  # (monotonic build time, body, etag)
        self.failed: tuple[float, ServiceError] | None = None  # the last failed build, when and why

    def get(self) -> tuple[bytes, str]:
        built = self.built
        if built is not None and not self._due(built[0]):
            return built[1], built[2]
        if not self.lock.acquire(blocking=built is None):
            assert built is not None  # another request is building: the previous document meanwhile
            return built[1], built[2]
        try:
            if self.built is None or self._due(self.built[0]):
                self._try_build()
            if self.built is None:
                assert self.failed is not None
                raise self.failed[1]
            return self.built[1], self.built[2]
        finally:
            self.lock.release()

    def _due(self, built_at: float) -> bool:
        return time.monotonic() - built_at >= self.seconds

    def _try_build(self) -> None:
        now = time.monotonic()
        if self.failed is not None and now - self.failed[0] < self.retry:
            return
        try:
            self.built = self._build()
            self.failed = None
        except ServiceError as exc:
            self.failed = (now, exc)

    def _build(self) -> tuple[float, bytes, str]:
        answers = gather(*(lambda service=service: self.fetch(service) for service in SERVICES))
        body = json.dumps(merge(dict(zip(SERVICES, answers, strict=True))), ensure_ascii=False,
                          separators=(",", ":")).encode()
        return time.monotonic(), body, hashlib.sha256(body).hexdigest()[:32]


def _document() -> MergedDocument:
    found: MergedDocument = current_app.extensions[EXTENSION_KEY]
    return found


@bp.route("/api/openapi.json")
def openapi_json() -> Any:
    try:
        body, etag = _document().get()
    except ServiceError as exc:
        return Response(json.dumps({"message": UNAVAILABLE.format(service=exc.service)}, ensure_ascii=False),
                        status=503, mimetype="application/json")
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.cache_control.public = True
    response.cache_control.max_age = int(CACHE_SECONDS)
    return response.make_conditional(request)


@bp.route("/api/docs")
def docs() -> str:
    return render_template("apidocs.html")


def init_app(app: Flask, fetch: Fetch | None = None) -> None:
    app.extensions[EXTENSION_KEY] = MergedDocument(fetch or fetch_from_service)
    app.register_blueprint(bp)
