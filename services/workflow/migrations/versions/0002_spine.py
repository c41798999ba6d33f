"""the business kept once by its owner; optimistic version on process instances

The form no longer travels with the process: an instance keeps the business key, a one-line summary
and the row count, and the center's task page reads the rows from the owning service.

Revision ID: 0002_spine
Revises: 0001
Create Date: 2026-11-28 08:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_spine'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('row_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.drop_column('form')


def downgrade() -> None:
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.drop_column('version')
        batch_op.drop_column('row_count')
        batch_op.drop_column('summary')
