"""Alembic, driven from code: each service keeps its migrations in ``services/<name>/migrations``."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool

from .settings import SERVICES, get_settings

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    # "heads": independent schema changes may branch from one revision until a merge revision joins them.
    command.upgrade(alembic_config(service, url or get_settings().database_url(service)), "heads")


def run_env(metadata: MetaData) -> None:
    """Body of every service's migrations/env.py."""
    url = context.config.attributes.get("url") or get_settings().database_url(
        Path(context.config.get_main_option("script_location") or "").parent.name
    )
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    shared = context.config.attributes.get("connection")
    if shared is not None:
        # The caller's connection and transaction (tests roll migrations back to savepoints on PostgreSQL,
        # where DDL is transactional): migrate on it and leave commit or rollback to the caller.
        context.configure(connection=shared, target_metadata=metadata)
        context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=metadata, render_as_batch=url.startswith("sqlite")
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main(argv: list[str]) -> None:
    for service in argv or list(SERVICES):
        upgrade(service)
        print(f"migrated {service}")


if __name__ == "__main__":
    main(sys.argv[1:])
