"""Schema steps of the plumbing tables every service has (hall_common.models), written once.

Each service's migration of the same revision calls the step; a step is frozen once released (a later
change to the plumbing tables is a new step), so editing the models never rewrites an old migration.
"""

import sqlalchemy as sa
from alembic import op


def upgrade_0002_events() -> None:
    op.create_table(
        'dead_letters',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('event_id', sa.String(length=100), nullable=False),
        sa.Column('type', sa.String(length=100), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('first_failed_at', sa.DateTime(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(), nullable=False),
        sa.Column('retry_count', sa.Integer(), nullable=False),
        sa.Column('retried_at', sa.DateTime(), nullable=True),
        sa.Column('retried_by', sa.String(length=100), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id'),
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letters_status'), ['status'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resent', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_outbox_check_at'), ['check_at'], unique=False)


def downgrade_0002_events() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_check_at'))
        batch_op.drop_column('resent')
        batch_op.drop_column('check_at')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_status'))
    op.drop_table('dead_letters')
