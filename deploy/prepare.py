"""Migrate every service's database to the newest schema, create the UKey CA on a new installation, seed
the demo data, provision the demo UKey."""

from __future__ import annotations

import sys

import sqlalchemy as sa

from hall_common import migrate
from hall_common.settings import SERVICES, get_settings

from . import seed, ukey


def issued_ukeys() -> int:
    engine = sa.create_engine(get_settings().database_url("auth"))
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT COUNT(*) FROM ukeys")).scalar_one())
    finally:
        engine.dispose()


def ensure_ca() -> None:
    """Create the CA only where there has never been one; otherwise check it (never replace it)."""
    from services.auth import keys

    if not keys.ca_exists():
        if issued_ukeys():
            raise keys.CAError("the UKey CA is missing but UKeys were issued by it: restore its key and "
                               "certificate from the backup (a new CA would invalidate every issued UKey)")
        certificate = keys.init_ca()
        print(f"created the UKey CA {certificate.subject.rfc4514_string()} in {keys.ca_paths()[1]}", flush=True)
    keys.ca()


def ensure_service_tokens() -> None:
    """The notify worker pages the employer list for a broadcast with its own service token; the
    payment worker reads the policy's interest rates with its own."""
    from services.auth.service_tokens import ensure_own_token

    if ensure_own_token("notify", ["employer_list"]):
        print("issued the notify service's token", flush=True)
    # The payment worker's interest settlement reads the rates of the policy in force (member service).
    if ensure_own_token("payment", ["policy_read"]):
        print("issued the payment service's token", flush=True)


def main() -> None:
    from services.auth.keys import CAError

    for service in SERVICES:
        migrate.upgrade(service)
    try:
        ensure_ca()
    except CAError as exc:
        sys.exit(f"error: {exc}")
    seed.main()
    ukey.provision_demo()
    ensure_service_tokens()


if __name__ == "__main__":
    main()
