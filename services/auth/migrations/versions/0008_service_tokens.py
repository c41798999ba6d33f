"""service tokens are recorded when issued, listed and withdrawn one by one

Revision ID: 0008_service_tokens
Revises: 0007_dual_control
Create Date: 2026-12-02 12:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_service_tokens'
down_revision = '0007_dual_control'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'service_tokens',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('permissions', sa.JSON(), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('issued_by', sa.String(length=50), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
        sa.Column('withdrawn_by', sa.String(length=50), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('service_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_tokens_name'), ['name'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('service_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_tokens_name'))
    op.drop_table('service_tokens')
