# ruff: noqa: E501
"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 05:40:21.674301
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('employer_accounts',
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('balance', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('unallocated', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('employer_no')
    )
    op.create_table('member_accounts',
    sa.Column('member_no', sa.String(length=20), nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('balance', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.PrimaryKeyConstraint('member_no')
    )
    with op.batch_alter_table('member_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_accounts_employer_no'), ['employer_no'], unique=False)

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



def downgrade() -> None:
    with op.batch_alter_table('revoked_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revoked_sessions_expires_at'))

    op.drop_table('revoked_sessions')
    op.drop_table('processed_events')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_published_at'))

    op.drop_table('outbox')
    with op.batch_alter_table('member_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_accounts_employer_no'))

    op.drop_table('member_accounts')
    op.drop_table('employer_accounts')
