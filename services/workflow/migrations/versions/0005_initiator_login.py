"""instances keep the submitting operator's login name (notify's 我发起的 is per operator)

Revision ID: 0005_initiator_login
Revises: 0004_approval_engine
Create Date: 2026-11-28 12:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_initiator_login'
down_revision = '0004_approval_engine'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Instances started before this revision have no login: they stay in the employer's lists only.
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('initiator_login', sa.String(length=50), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_column('initiator_login')
