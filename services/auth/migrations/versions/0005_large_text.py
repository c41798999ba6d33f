"""operators gain the 大字模式 (larger text) preference

Revision ID: 0005_large_text
Revises: 0004_groups_audit
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_large_text'
down_revision = '0004_groups_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite cannot add a NOT NULL column without a default any other way; existing operators
    # start with normal text.
    with op.batch_alter_table('operators') as batch:
        batch.add_column(sa.Column('large_text', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('operators') as batch:
        batch.drop_column('large_text')
