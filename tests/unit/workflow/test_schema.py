"""The workflow's 0004 carries an existing database over (a repeated task_guid, the old display name as
assignee), on SQLite and PostgreSQL. That the migrated schema matches the models is checked for every
service in tests/unit/test_migrations.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from hall_common import migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    if request.param == "postgresql":
        yield request.getfixturevalue("postgres_url")
    else:
        yield f"sqlite:///{tmp_path}/workflow.db"


def test_0004_carries_existing_rows_over_and_lets_a_task_repeat(url: str) -> None:
    config = migrate.alembic_config("workflow", url)
    command.upgrade(config, "0003_merge")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO process_definitions (id, process_key, version, name, bpmn_xml, spec_json, checksum,"
                " deployed_by, deployed_at) VALUES (1, 'employer_change', 1, 'x', '<x/>', '{}', 'c', 'system',"
                " '2026-11-01 00:00:00')"))
            connection.execute(sa.text(
                "INSERT INTO process_instances (id, definition_id, business_type, business_id, owner, title,"
                " employer_no, employer_name, initiator, summary, row_count, status, state, serializer_version,"
                " started_at, version) VALUES (1, 1, 'employer_change', '1', 'employer', 't', 'e', 'n', 'i', '',"
                " 0, 'running', '{}', '1', '2026-11-01 00:00:00', 1)"))
            connection.execute(sa.text(
                "INSERT INTO user_tasks (instance_id, task_guid, bpmn_id, name, candidate_group, status, assignee,"
                " created_at) VALUES (1, 'g1', 'T', '审核', 'center_reviewer', 'completed', '李明',"
                " '2026-11-01 00:00:00')"))
        command.upgrade(config, "heads")
        with engine.begin() as connection:
            old = connection.execute(sa.text("SELECT assignee_name, candidate_group FROM user_tasks")).one()
            assert tuple(old) == ("李明", "handler")  # the first process's group nobody belonged to
            assert connection.execute(sa.text("SELECT seq FROM process_instances")).scalar_one() == 0
            # A returned task activates again under the same Spiff id: a second row is fine ...
            insert = sa.text(
                "INSERT INTO user_tasks (instance_id, task_guid, bpmn_id, name, candidate_group, status, created_at)"
                " VALUES (1, 'g1', 'T', '审核', 'handler', 'open', '2026-11-02 00:00:00')")
            connection.execute(insert)
        # ... but never two open ones.
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
            connection.execute(insert)
        # Back down (once the repeated row is gone: the old schema cannot hold it).
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM user_tasks WHERE status = 'open'"))
        command.downgrade(config, "0003_merge")
    finally:
        engine.dispose()
