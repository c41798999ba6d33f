# ruff: noqa: E501
"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 05:40:21.735204
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_published_at'), ['published_at'], unique=False)

    op.create_table('process_definitions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('process_key', sa.String(length=50), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('deployed_by', sa.String(length=50), nullable=False),
    sa.Column('deployed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('process_key', 'version')
    )
    op.create_table('processed_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_table('revoked_sessions',
    sa.Column('token_id', sa.String(length=36), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_id')
    )
    with op.batch_alter_table('revoked_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revoked_sessions_expires_at'), ['expires_at'], unique=False)

    op.create_table('process_instances',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('business_type', sa.String(length=50), nullable=False),
    sa.Column('business_id', sa.String(length=50), nullable=False),
    sa.Column('owner', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('employer_name', sa.String(length=100), nullable=False),
    sa.Column('initiator', sa.String(length=50), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('serializer_version', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definitions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('business_type', 'business_id')
    )
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_instances_employer_no'), ['employer_no'], unique=False)

    op.create_table('user_tasks',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('task_guid', sa.String(length=36), nullable=False),
    sa.Column('bpmn_id', sa.String(length=100), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('candidate_group', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('assignee', sa.String(length=50), nullable=True),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('opinion', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_guid')
    )
    with op.batch_alter_table('user_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_tasks_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_tasks_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('user_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_tasks_status'))
        batch_op.drop_index(batch_op.f('ix_user_tasks_instance_id'))

    op.drop_table('user_tasks')
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instances_employer_no'))

    op.drop_table('process_instances')
    with op.batch_alter_table('revoked_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revoked_sessions_expires_at'))

    op.drop_table('revoked_sessions')
    op.drop_table('processed_events')
    op.drop_table('process_definitions')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_published_at'))

    op.drop_table('outbox')
