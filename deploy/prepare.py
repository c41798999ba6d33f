"""Migrate every service's database to the newest schema, seed the demo data, provision the demo UKey."""

from __future__ import annotations

from hall_common import migrate
from hall_common.settings import SERVICES

from . import seed, ukey


def main() -> None:
    for service in SERVICES:
        migrate.upgrade(service)
    seed.main()
    ukey.provision_demo()


if __name__ == "__main__":
    main()
