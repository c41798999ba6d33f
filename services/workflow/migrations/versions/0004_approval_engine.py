# ruff: noqa: E501
"""the approval engine: definitions carry their groups, outcomes and note; instances can be returned,
ended and terminated and number their events; task rows repeat a returned task; the audit trail

Revision ID: 0004_approval_engine
Revises: 0003_merge
Create Date: 2026-11-28 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_approval_engine'
down_revision = '0003_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('task_groups', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('end_outcomes', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('initiator_may_end', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_reason', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_process_instances_status'), ['status'], unique=False)

    # A returned task is reset to under the same Spiff id: task_guid repeats, one open row at most.
    # 0001 left the unique constraint unnamed: PostgreSQL named it <table>_<column>_key, SQLite not at
    # all (a naming convention names it while the batch copies the table).
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('user_tasks', naming_convention={'uq': 'uq_%(table_name)s_%(column_0_name)s'}) as batch_op:
            batch_op.drop_constraint('uq_user_tasks_task_guid', type_='unique')
    else:
        op.drop_constraint('user_tasks_task_guid_key', 'user_tasks', type_='unique')
    with op.batch_alter_table('user_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_name', sa.String(length=50), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_tasks_task_guid'), ['task_guid'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_tasks_candidate_group'), ['candidate_group'], unique=False)
        batch_op.create_index('uq_user_tasks_open_guid', ['task_guid'], unique=True,
                              sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    # Until now the assignee column held the display name.
    op.execute("UPDATE user_tasks SET assignee_name = assignee WHERE assignee IS NOT NULL")
    # The first employer change process named a group no center user belongs to; its open tasks go to
    # the handlers (经办), the group its successor names.
    op.execute("UPDATE user_tasks SET candidate_group = 'handler' WHERE candidate_group = 'center_reviewer'")

    op.create_table('instance_steps',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=50), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('instance_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instance_steps_instance_id'), ['instance_id'], unique=False)

    op.create_table('audit_records',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('actor', sa.String(length=50), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_records_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_records_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_records_at'))
        batch_op.drop_index(batch_op.f('ix_audit_records_action'))
    op.drop_table('audit_records')
    with op.batch_alter_table('instance_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instance_steps_instance_id'))
    op.drop_table('instance_steps')
    with op.batch_alter_table('user_tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_user_tasks_open_guid')
        batch_op.drop_index(batch_op.f('ix_user_tasks_candidate_group'))
        batch_op.drop_index(batch_op.f('ix_user_tasks_task_guid'))
        batch_op.create_unique_constraint('uq_user_tasks_task_guid', ['task_guid'])
        batch_op.drop_column('assignee_name')
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instances_status'))
        batch_op.drop_column('seq')
        batch_op.drop_column('end_reason')
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.drop_column('initiator_may_end')
        batch_op.drop_column('end_outcomes')
        batch_op.drop_column('task_groups')
        batch_op.drop_column('note')
