"""Web gateway: the employer hall pages and the center's admin console. It owns only sessions."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, has_request_context, jsonify, request, send_from_directory
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from hall_common import guards, health, logs, metrics, tracing
from hall_common.errors import BusinessError
from hall_common.settings import get_settings

from . import (
    admin,
    admin_accounts,
    admin_designer,
    admin_groups,
    admin_interest,
    admin_monitor,
    admin_ops,
    admin_policy,
    admin_push,
    admin_rights,
    admin_security_keys,
    admin_tokens,
    apidocs,
    base_adjust,  # noqa: F401  (its routes join views.bp before the blueprint is registered)
    closure,  # noqa: F401  (its routes join views.bp before the blueprint is registered)
    console,
    employer_interest,  # noqa: F401  (its routes join views.bp before the blueprint is registered)
    employer_queries,  # noqa: F401  (its routes join views.bp before the blueprint is registered)
    errors,
    filters,
    login,
    member_change,  # noqa: F401  (its routes join views.bp before the blueprint is registered)
    member_queries,  # noqa: F401  (its routes join views.bp before the blueprint is registered)
    processes,  # noqa: F401  (its routes join views.bp before the blueprint is registered)
    refresh,
    rosters,  # noqa: F401  (its routes join views.bp before the blueprint is registered)
    security_keys,
    supplement,  # noqa: F401  (its routes join views.bp before the blueprint is registered)
    verify,
    views,
)
from .session import register_context

ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIRS = {
    "bpmn-js": ROOT / "node_modules" / "bpmn-js" / "dist",
    "swagger-ui-dist": ROOT / "node_modules" / "swagger-ui-dist",
}


def _secret_key() -> str:
    settings = get_settings()
    if settings.gateway_secret_key:
        return settings.gateway_secret_key
    path = settings.var_path / "gateway_secret"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def content_security_policy(agent_url: str) -> str:
    """Scripts only from files the hall serves (no inline script, no eval); the page may call the
    UKey agent on the employer's PC. bpmn-js sets inline styles on the diagram, so styles may be inline."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        f"connect-src 'self' {agent_url}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def _security_headers(app: Flask) -> None:
    settings = get_settings()
    headers = {
        "Content-Security-Policy": content_security_policy(settings.ukey_agent_url),
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if settings.secure_cookies:  # served over TLS: tell the browser never to fall back to plain HTTP
        headers["Strict-Transport-Security"] = "max-age=31536000"

    @app.after_request
    def _add(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response


def _refuse_hostile_json() -> Any:
    """A script's JSON body as the services' guard checks it: nesting that would recurse out of stack, a
    lone surrogate (which no UTF-8 request to a service can carry) or a control character is a 4xx
    here, not a 500 on the way to the service."""
    if not request.is_json:
        return None
    try:
        guards.refuse_hostile_json()
    except BusinessError as exc:
        return jsonify({"message": exc.message}), exc.status
    return None


def _memoized_url_for(app: Flask) -> Callable[..., str]:
    """The templates' url_for, remembered: every page builds the same links (18 on the home page:
    menu, forms, static files) and Werkzeug builds each anew, a tenth of the page's CPU (make bench).
    A link depends only on the script root, the endpoint (and the blueprint, for a relative one) and
    its values; the rules are fixed once the app is built. External links and special arguments are
    built every time; the memory is bounded (links with ids vary)."""
    built: dict[tuple[Any, ...], str] = {}

    def url_for(endpoint: str, **values: Any) -> str:
        if not has_request_context() or any(
            key.startswith("_") or not isinstance(value, str | int) for key, value in values.items()
        ):
            return app.url_for(endpoint, **values)
        key = (request.script_root, request.blueprint if endpoint.startswith(".") else None, endpoint,
               tuple(sorted(values.items())))
        url = built.get(key)
        if url is None:
            if len(built) > 10_000:
                built.clear()
            url = built[key] = app.url_for(endpoint, **values)
        return url

    return url_for


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.config.update(
        SECRET_KEY=_secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=get_settings().secure_cookies,
        MAX_CONTENT_LENGTH=get_settings().max_body_bytes,
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session, which the auth token already bounds
        VENDOR_DIRS=VENDOR_DIRS,
    )
    app.config.update(config or {})
    logs.configure("gateway")
    logs.init_app(app)  # first: the request id is made (or taken from X-Request-Id) before anything logs
    metrics.init_app(app, "gateway")
    tracing.init_app(app, "gateway")
    app.add_url_rule(metrics.PATH, "metrics", lambda: metrics.view(app))
    # Before the CSRF check reads a form: a chunked body at the size limit is refused, never cut off.
    app.before_request(guards.refuse_unsized_body_at_limit)
    # Every form and script POST carries the session's CSRF token (forms: hidden field; scripts: header).
    CSRFProtect(app)
    app.before_request(_refuse_hostile_json)  # after the CSRF check: a forged post learns nothing
    app.register_blueprint(login.bp)
    app.register_blueprint(security_keys.bp)
    app.register_blueprint(admin_security_keys.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_accounts.bp)
    app.register_blueprint(admin_ops.bp)
    app.register_blueprint(admin_groups.bp)
    app.register_blueprint(admin_designer.bp)
    app.register_blueprint(admin_monitor.bp)
    app.register_blueprint(admin_push.bp)
    app.register_blueprint(admin_rights.bp)
    app.register_blueprint(admin_tokens.bp)
    app.register_blueprint(admin_policy.bp)
    app.register_blueprint(admin_interest.bp)
    app.register_blueprint(verify.bp)
    verify.init_app(app)  # public: rate limited per client address
    health.init_gateway(app)  # /health/live, /health/ready: the probes (docs/deploy.md)
    apidocs.init_app(app)  # public: /api/openapi.json and /api/docs
    register_context(app)
    refresh.init_app(app)  # the refresh tokens' own cookie
    console.register(app)
    app.jinja_env.globals["url_for"] = _memoized_url_for(app)
    errors.register(app)
    filters.register(app)
    # Browsers ask for /favicon.ico whatever the page's <link rel=icon> says: the same icon, not a 404.
    app.add_url_rule("/favicon.ico", "favicon", lambda: send_from_directory(
        app.static_folder or "static", "favicon.svg", mimetype="image/svg+xml", max_age=86400))
    _security_headers(app)
    hops = get_settings().gateway_proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app
