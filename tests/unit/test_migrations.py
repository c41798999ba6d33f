"""Every service's Alembic history, on SQLite and on PostgreSQL: an empty database and a database left
at any earlier revision upgrade to head, and what they end with is exactly what the models declare
(alembic's autogenerate comparison finds nothing to do); head downgrades to an empty database and
upgrades again. See docs/migrations.md."""

from __future__ import annotations

import importlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from hall_common import migrate
from hall_common.settings import SERVICES

_SCRIPTS: dict[str, ScriptDirectory] = {}
_read_script_directory = ScriptDirectory.from_config


@pytest.fixture(autouse=True)
def each_history_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Alembic reads and compiles every revision file again for each command: over a hundred commands
    here, most of the test's time. The revisions do not change while it runs: read each history once."""

    def from_config(config: Config) -> ScriptDirectory:
        location = str(config.get_main_option("script_location"))
        if location not in _SCRIPTS:
            _SCRIPTS[location] = _read_script_directory(config)
        return _SCRIPTS[location]

    monkeypatch.setattr(ScriptDirectory, "from_config", staticmethod(from_config))


def _script(service: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config(service, "sqlite://"))


def _earlier(service: str) -> list[tuple[str, str | None]]:
    """Every revision but the heads with the revision it is reached from (its first parent: reaching a
    merge from there applies the other branches too), each after the revisions it builds on."""
    script = _script(service)
    heads = set(script.get_heads())
    walked = reversed(list(script.walk_revisions()))  # walk_revisions goes from the heads down
    return [(r.revision, r.down_revision if isinstance(r.down_revision, str | None) else r.down_revision[0])
            for r in walked if r.revision not in heads]


def _same_default(context: MigrationContext, inspected_column: sa.Column[Any], metadata_column: sa.Column[Any],
                  inspected: str | None, metadata_default: Any, rendered: str | None) -> bool | None:
    """Alembic's own comparison (None), but for two defaults it cannot judge: an empty string on SQLite
    (it renders the model's '' as no default) and JSON on PostgreSQL (it asks the server '{}'::json = '{}',
    and json has no equality). Those compare as the literal they store."""
    text = getattr(metadata_default, "arg", None)
    if inspected is None or not isinstance(text, str) or not (text == "" or isinstance(metadata_column.type, sa.JSON)):
        return None
    stored = re.sub(r"::[a-z ]+$", "", inspected.strip("()"))  # ('') on SQLite, '{}'::json on PostgreSQL
    return stored != "'" + text.replace("'", "''") + "'"


def _differences(connection: sa.Connection, service: str) -> list[Any]:
    """What autogenerate would write to bring the database to the models: tables, columns, types,
    nullability, server defaults, indexes, unique and foreign keys."""
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    options = {"compare_type": True, "compare_server_default": _same_default}
    return list(compare_metadata(MigrationContext.configure(connection, opts=options), metadata))


def _tables(url: str) -> set[str]:
    return set(_on(url, lambda connection: sa.inspect(connection).get_table_names()))


def _on(url: str, work: Callable[[sa.Connection], Any]) -> Any:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            return work(connection)
    finally:
        engine.dispose()


def _every_revision_on_sqlite(service: str, directory: Path) -> dict[str, list[Any]]:
    """How each earlier revision, upgraded to head, differs from the models (by revision). Keeps a copy
    of the database at each revision, so reaching the next one costs one step, not the whole history."""
    at: dict[str, Path] = {}
    found = {}
    for revision, parent in _earlier(service):
        at[revision] = directory / f"at_{revision}.db"
        if parent is not None:
            shutil.copyfile(at[parent], at[revision])
        command.upgrade(migrate.alembic_config(service, f"sqlite:///{at[revision]}"), revision)
        upgraded = directory / f"from_{revision}.db"
        shutil.copyfile(at[revision], upgraded)
        migrate.upgrade(service, f"sqlite:///{upgraded}")
        found[revision] = _on(f"sqlite:///{upgraded}", lambda connection: _differences(connection, service))
    return found


def _every_revision_on_postgresql(service: str, url: str) -> dict[str, list[Any]]:
    """The same, in one transaction that is never committed (PostgreSQL's DDL is transactional): each
    revision is one step from its parent under a savepoint; its upgrade to head runs under a second one,
    rolled back once compared. (SQLite's savepoints are not safe on our driver: it copies files.)"""
    children: dict[str | None, list[str]] = {}
    for revision, parent in _earlier(service):
        children.setdefault(parent, []).append(revision)
    found = {}

    def upgrade(connection: sa.Connection, target: str) -> None:
        config = migrate.alembic_config(service, url)
        config.attributes["connection"] = connection
        command.upgrade(config, target)

    def visit(connection: sa.Connection, revision: str) -> None:
        reached = connection.begin_nested()
        upgrade(connection, revision)
        upgraded = connection.begin_nested()
        upgrade(connection, "heads")
        found[revision] = _differences(connection, service)
        upgraded.rollback()
        for child in children.get(revision, []):
            visit(connection, child)
        reached.rollback()

    def walk(connection: sa.Connection) -> None:
        with connection.begin() as everything:
            for root in children[None]:
                visit(connection, root)
            everything.rollback()

    _on(url, walk)
    return found


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """Either "sqlite" or the URL of a throwaway PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return "sqlite"


@pytest.mark.parametrize("service", SERVICES)
def test_an_empty_database_and_every_earlier_revision_upgrade_to_the_models(
    service: str, database: str, tmp_path: Path
) -> None:
    earlier = [revision for revision, _ in _earlier(service)]
    assert len(earlier) >= 5  # every service has a history to upgrade from
    if database == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.db'}"
        found = _every_revision_on_sqlite(service, tmp_path)
    else:
        url = database
        found = _every_revision_on_postgresql(service, url)
        assert _tables(url) == set()  # the walk committed nothing: the database is still empty
    assert sorted(found) == sorted(earlier)
    failing = {revision: differences for revision, differences in found.items() if differences}
    assert not failing, f"upgraded to head from {sorted(failing)}, the schema differs from the models: {failing}"
    migrate.upgrade(service, url)
    assert _on(url, lambda connection: _differences(connection, service)) == []
    # And back: head downgrades to an empty database, which upgrades again to the same schema.
    command.downgrade(migrate.alembic_config(service, url), "base")
    assert _tables(url) <= {"alembic_version"}
    migrate.upgrade(service, url)
    assert _on(url, lambda connection: _differences(connection, service)) == []
