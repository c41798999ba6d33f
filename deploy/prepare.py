"""Migrate every service's database to the newest schema, then seed the demo data."""

from __future__ import annotations

from hall_common import migrate
from hall_common.settings import SERVICES

from . import seed


def main() -> None:
    for service in SERVICES:
        migrate.upgrade(service)
    seed.main()


if __name__ == "__main__":
    main()
