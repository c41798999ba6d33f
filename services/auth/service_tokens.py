"""Service tokens: how a downstream system (or a service's own worker) authenticates.

The center issues one per system with this command, on the machine that holds the auth signing key:

    python -m services.auth.service_tokens issue core-accounting --permission push --days 365

It prints an access token like an operator's (ES256, verified locally by every service) with role
``service``, the system's name as subject, exactly the permissions given and a long expiry. A service
token is refused by every employer and center route; only routes that declare its permission accept it
(``hall_common.access.allow("service:push")``): a ``push`` token sends
messages but reads no inbox. A token is withdrawn by its expiry, or at once by rotating the signing
key; each carries its own id (``jti``) so a revocation list can name it.
"""

from __future__ import annotations

import argparse
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt

from hall_common.permissions import SERVICE_PERMISSIONS
from hall_common.security import ALGORITHM, AUDIENCE, SERVICE, Principal
from hall_common.settings import get_settings

from .keys import private_key_pem

# What a service token may be issued for: push messages (downstream systems), page the employer list
# (the notify worker's broadcast).
PERMISSIONS = tuple(SERVICE_PERMISSIONS)
MAX_DAYS = 3 * 365


# A system's name: what the services record as the sender (notify keeps 50 characters of it).
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")


def issue(name: str, permissions: list[str], days: int) -> str:
    if not NAME.match(name):
        raise ValueError(f"name must be 1..50 letters, digits or ._- (starting with a letter or digit): {name!r}")
    unknown = [p for p in permissions if p not in PERMISSIONS]
    if unknown or not permissions:
        raise ValueError(f"permissions must be among {PERMISSIONS}: {unknown or permissions}")
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1..{MAX_DAYS}")
    principal = Principal(login_name=name, role=SERVICE, display_name=name, permissions=frozenset(permissions))
    now = datetime.now(UTC)
    claims = {**principal.claims(), "aud": AUDIENCE, "iat": now, "exp": now + timedelta(days=days),
              "jti": str(uuid.uuid4())}
    return jwt.encode(claims, private_key_pem(), algorithm=ALGORITHM)


def token_path(service: str) -> Path:
    return get_settings().var_path / "service_tokens" / f"{service}.jwt"


def ensure_own_token(service: str, permissions: list[str], renew_within_days: int = 30) -> bool:
    """Write a service's own token file (deploy.prepare) when missing or about to expire; True if written."""
    path = token_path(service)
    if path.exists():
        claims = jwt.decode(path.read_text().strip(), options={"verify_signature": False})
        left = datetime.fromtimestamp(int(claims.get("exp", 0)), UTC) - datetime.now(UTC)
        if left > timedelta(days=renew_within_days) and sorted(claims.get("perms") or []) == sorted(permissions):
            return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(issue(service, permissions, 365))
    path.chmod(0o600)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.auth.service_tokens",
                                     description="Issue a service token for a downstream system.")
    commands = parser.add_subparsers(dest="command", required=True)
    issue_cmd = commands.add_parser("issue", help="print a new service token")
    issue_cmd.add_argument("name", help="the system's name, e.g. core-accounting")
    issue_cmd.add_argument("--permission", action="append", choices=PERMISSIONS, required=True)
    issue_cmd.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)
    try:
        print(issue(args.name, args.permission, args.days))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
