"""Migrate every service's database to the newest schema, create the UKey CA on a new installation, seed
the demo data, provision the demo UKey."""

from __future__ import annotations

import sys

import sqlalchemy as sa

from hall_common import migrate
from hall_common.settings import SERVICES, get_settings

from . import seed, ukey

# The services' own tokens and their permissions (ensure_service_tokens says what each is for).
OWN_TOKENS: tuple[tuple[str, list[str]], ...] = (
    ("notify", ["employer_list"]), ("payment", ["member_read", "policy_read"]), ("employer", ["closure_check"]))


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
    """The services' own tokens for calls outside any user's request: the notify worker pages the
    employer list for a broadcast; the payment worker reads the members' monthly amounts its remittance
    bills are made of, the members of its 补缴 rows and the policy's interest rates; the employer service
    checks a 零余额销户 with the payment, member and workflow services (on the page, and again in its
    worker when it is applied)."""
    from services.auth.service_tokens import ensure_own_token

    for service, permissions in OWN_TOKENS:
        if ensure_own_token(service, permissions):
            print(f"issued the {service} service's token", flush=True)


def ensure_print_signing_key() -> None:
    """The key signing the prints' verification codes (docs/prints.md): made once, never replaced."""
    from hall_common import verify

    if not verify.key_path().exists():
        verify.signing_key()
        print(f"created the print signing key {verify.key_path()}", flush=True)


def main() -> None:
    from services.auth.keys import CAError

    for service in SERVICES:
        migrate.upgrade(service)
    try:
        ensure_ca()
    except CAError as exc:
        sys.exit(f"error: {exc}")
    ensure_print_signing_key()
    seed.main()
    ukey.provision_demo()
    ensure_service_tokens()


if __name__ == "__main__":
    main()
