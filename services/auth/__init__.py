"""Auth service: logins, operators and the keys that sign session tokens."""

from typing import Any

from flask import Flask

from hall_common.app import create_service_app
from hall_common.audit import audit_blueprint
from hall_common.runtime import ServiceRuntime
from hall_common.security import KeyProvider

from . import (
    approval_routes,
    approvals,
    center_routes,
    models,
    ratelimit,
    routes,
    sessions,
    tasks,
    token_routes,
    ukeys,
    webauthn_keys,
    webauthn_routes,
)
from .keys import ca, public_key_pem


def _housekeeping() -> None:
    ukeys.forget_old_challenges()
    webauthn_keys.forget_old_sessions()
    sessions.forget_old()
    approvals.expire_old()


RUNTIME = ServiceRuntime("auth", models.Base, models.PLUMBING, tasks.HANDLERS, housekeeping=_housekeeping,
                         revocation_recheck_seconds=0)


def create_app(config: dict[str, Any] | None = None, keys: KeyProvider | None = None) -> Flask:
    # Without its CA the service could neither issue nor check a UKey: refuse to start (CAError says
    # why) rather than fail every login later.
    ca()
    # The auth service verifies its own tokens with the key it holds instead of calling itself.
    blueprints = [routes.blp, approval_routes.blp, center_routes.blp, token_routes.blp, webauthn_routes.blp,
                  audit_blueprint(models.AuditRecord)]
    app = create_service_app(RUNTIME, blueprints, config, keys or KeyProvider(public_key_pem()))
    ratelimit.init_app(app)
    return app
