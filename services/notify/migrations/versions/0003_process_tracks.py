# ruff: noqa: E501
"""process tracks: the employer's approval processes folded from the workflow's events, for 待办 /
已办 / 我发起的

Revision ID: 0003_process_tracks
Revises: 0002_events
Create Date: 2026-11-28 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_process_tracks'
down_revision = '0002_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('process_tracks',
    sa.Column('instance_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('employer_name', sa.String(length=100), nullable=False),
    sa.Column('initiator', sa.String(length=50), nullable=False),
    sa.Column('business_type', sa.String(length=50), nullable=False),
    sa.Column('business_id', sa.String(length=50), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('summary', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('task_name', sa.String(length=100), nullable=True),
    sa.Column('candidate_group', sa.String(length=50), nullable=True),
    sa.Column('handler', sa.String(length=50), nullable=True),
    sa.Column('decision', sa.String(length=20), nullable=True),
    sa.Column('opinion', sa.String(length=500), nullable=True),
    sa.Column('ended_by', sa.String(length=20), nullable=True),
    sa.Column('end_reason', sa.String(length=500), nullable=True),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('acted_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('instance_id')
    )
    with op.batch_alter_table('process_tracks', schema=None) as batch_op:
        batch_op.create_index('ix_process_tracks_employer_instance', ['employer_no', 'instance_id'], unique=False)
        batch_op.create_index('ix_process_tracks_employer_status', ['employer_no', 'status'], unique=False)

    op.create_table('process_track_events',
    sa.Column('instance_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('type', sa.String(length=50), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('instance_id', 'seq')
    )


def downgrade() -> None:
    op.drop_table('process_track_events')
    with op.batch_alter_table('process_tracks', schema=None) as batch_op:
        batch_op.drop_index('ix_process_tracks_employer_status')
        batch_op.drop_index('ix_process_tracks_employer_instance')

    op.drop_table('process_tracks')
