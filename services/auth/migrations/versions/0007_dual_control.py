"""dual control: pending_approvals (待复核操作), the password resets and UKey issues and bindings one
center account requested and a second must confirm

Revision ID: 0007_dual_control
Revises: 0006_center_rights
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_dual_control'
down_revision = '0006_center_rights'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pending_approvals',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('target', sa.String(length=64), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('requested_by', sa.String(length=50), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('decided_by', sa.String(length=50), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('outcome', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('pending_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_approvals_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pending_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_approvals_status'))
    op.drop_table('pending_approvals')
