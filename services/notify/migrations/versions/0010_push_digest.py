"""pushes keep a digest of their normalised request; a daily count of broadcasts per sender

Revision ID: 0010_push_digest
Revises: 0009_track_permission
Create Date: 2026-12-02 12:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_push_digest'
down_revision = '0009_track_permission'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Pushes stored before this revision keep no digest: a retry of one is compared by its fields.
    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_digest', sa.String(length=64), nullable=True))
    op.create_table(
        'push_quotas',
        sa.Column('sender_role', sa.String(length=20), nullable=False),
        sa.Column('sender', sa.String(length=50), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('used', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('sender_role', 'sender', 'day'),
    )


def downgrade() -> None:
    op.drop_table('push_quotas')
    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.drop_column('request_digest')
