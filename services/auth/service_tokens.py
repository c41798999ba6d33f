"""Service tokens: how a downstream system (or a service's own worker) authenticates.

The center issues one per system in the console (服务令牌) or with this command, on the machine that
holds the auth signing key and the auth database:

    python -m services.auth.service_tokens issue core-accounting --permission push --days 365
    python -m services.auth.service_tokens list

It prints an access token like an operator's (ES256, verified locally by every service) with role
``service``, the system's name as subject, exactly the permissions given and a long expiry, and
records it (id, name, permissions, expiry; never the token) in the auth database, where the console
lists it and withdraws it (token_registry): every service then refuses it within seconds. A service
token is refused by every employer and center route; only routes that declare its permission accept it
(``hall_common.access.allow("service:push")``): a ``push`` token sends messages but reads no inbox.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from flask import current_app, has_app_context

from hall_common import db
from hall_common.runtime import EXTENSION_KEY
from hall_common.settings import get_settings

from . import token_registry
from .token_registry import CLI, DEPLOY, MAX_DAYS, NAME, PERMISSIONS

__all__ = ["MAX_DAYS", "NAME", "PERMISSIONS", "ensure_own_token", "issue", "main", "token_path"]


@contextmanager
def auth_database() -> Iterator[None]:
    """The auth database: the current app's when called inside the auth service, else an auth app
    of its own (the command, deploy.prepare), closed afterwards."""
    runtime = current_app.extensions.get(EXTENSION_KEY) if has_app_context() else None
    if runtime is not None and runtime.name == "auth":
        yield
        return
    from . import create_app

    app = create_app()
    try:
        with app.app_context():
            yield
    finally:
        db.get_db(app).dispose()


def issue(name: str, permissions: list[str], days: int, issued_by: str = CLI) -> str:
    """A new token, recorded in the auth database before it is handed out."""
    token_registry.check(name, permissions, days)
    with auth_database():
        token, _row = token_registry.issue(issued_by, name, permissions, days)
    return token


def token_path(service: str) -> Path:
    return get_settings().var_path / "service_tokens" / f"{service}.jwt"


def ensure_own_token(service: str, permissions: list[str], renew_within_days: int = 30) -> bool:
    """Write a service's own token file (deploy.prepare) when missing, about to expire or withdrawn;
    True if written. A file written before tokens were recorded is recorded now, so it can be withdrawn."""
    path = token_path(service)
    if path.exists():
        claims = jwt.decode(path.read_text().strip(), options={"verify_signature": False})
        left = datetime.fromtimestamp(int(claims.get("exp", 0)), UTC) - datetime.now(UTC)
        if left > timedelta(days=renew_within_days) and sorted(claims.get("perms") or []) == sorted(permissions) \
                and claims.get("jti") and _still_good(claims):
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(issue(service, permissions, 365, issued_by=DEPLOY))
    path.chmod(0o600)
    return True


def _still_good(claims: dict[str, Any]) -> bool:
    with auth_database():
        row = token_registry.find(str(claims["jti"]))
        if row is None:
            token_registry.record(claims, DEPLOY)
            db.session().commit()
            return True
        return row.withdrawn_at is None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.auth.service_tokens",
                                     description="Issue and list the service tokens of downstream systems.")
    commands = parser.add_subparsers(dest="command", required=True)
    issue_cmd = commands.add_parser("issue", help="print a new service token (recorded in the auth database)")
    issue_cmd.add_argument("name", help="the system's name, e.g. core-accounting")
    issue_cmd.add_argument("--permission", action="append", choices=PERMISSIONS, required=True)
    issue_cmd.add_argument("--days", type=int, default=365)
    commands.add_parser("list", help="the recorded tokens: id, name, permissions, expiry, status")
    args = parser.parse_args(argv)
    if args.command == "list":
        with auth_database():
            for item in token_registry.list_tokens():
                print(f"{item['id']}  {item['name']}  {','.join(item['permissions'])}  "
                      f"expires {item['expires_at']:%Y-%m-%d}  {item['status']}")
        return 0
    try:
        print(issue(args.name, args.permission, args.days))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
