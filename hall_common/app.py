"""The application factory every service uses: database, OpenAPI, errors, tokens, health, dead letters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from flask_smorest import Blueprint

from . import (  # schemas also sets Chinese messages and text rules for every service
    db,
    guards,
    health,
    logs,
    metrics,
    schemas,
    security,
    tracing,
)
from .dead_letter_api import dead_letter_blueprint
from .errors import HallApi, register_error_handlers
from .runtime import EXTENSION_KEY, ServiceRuntime
from .settings import get_settings


def create_service_app(
    runtime: ServiceRuntime,
    blueprints: Iterable[Blueprint],
    config: dict[str, Any] | None = None,
    keys: security.KeyProvider | None = None,
) -> Flask:
    settings = get_settings()
    app = Flask(f"hall.{runtime.name}")
    app.config.update(
        API_TITLE=f"employer hall: {runtime.name} service",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_AS_ASCII=False,
        DATABASE_URL=settings.database_url(runtime.name),
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    logs.configure(runtime.name)
    logs.init_app(app)  # first: every later hook, and a refusal, logs under the request's id
    metrics.init_app(app, runtime.name, [metrics.PlumbingCollector(runtime.name)])
    tracing.init_app(app, runtime.name)  # before the engine is made: its statements are traced too

    app.extensions[EXTENSION_KEY] = runtime
    database = db.Database(app.config["DATABASE_URL"], settings.sqlite_synchronous)
    database.init_app(app)

    api = HallApi(app)
    api.ma_plugin.converter.add_attribute_function(schemas.decimal_strings_in_openapi)  # type: ignore[union-attr]
    api.register_blueprint(health.service_blueprint(runtime.name))
    api.register_blueprint(dead_letter_blueprint())
    api.register_blueprint(metrics.blueprint())
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    register_error_handlers(app)
    guards.init_app(app, settings.max_body_bytes)
    security.init_app(app, keys)
    return app


def app_factory(runtime: ServiceRuntime, blueprints: list[Blueprint]) -> Callable[..., Flask]:
    """A service's ``create_app``: gunicorn calls ``services.<name>:create_app()``."""

    def create_app(config: dict[str, Any] | None = None, keys: security.KeyProvider | None = None) -> Flask:
        return create_service_app(runtime, blueprints, config, keys)

    return create_app
