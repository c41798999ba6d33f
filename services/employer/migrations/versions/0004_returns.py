"""employer change requests can be returned for correction and ended: one pending slot covers both
in_approval and returned; the request keeps its process, return time and end

Revision ID: 0004_returns
Revises: 0003_merge
Create Date: 2026-11-28 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_returns'
down_revision = '0003_merge'
branch_labels = None
depends_on = None

OLD_WHERE = sa.text("status = 'in_approval'")
NEW_WHERE = sa.text("status IN ('in_approval', 'returned')")


def upgrade() -> None:
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('instance_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('returned_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('ended_by', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('end_reason', sa.String(length=500), nullable=True))
    # Outside the batch: SQLite drops and creates an index in place, and the batch's table copy would
    # carry the old partial index over.
    op.drop_index('uq_change_requests_one_in_approval', table_name='change_requests')
    op.create_index('uq_change_requests_one_pending', 'change_requests', ['employer_no'], unique=True,
                    sqlite_where=NEW_WHERE, postgresql_where=NEW_WHERE)


def downgrade() -> None:
    op.drop_index('uq_change_requests_one_pending', table_name='change_requests')
    op.create_index('uq_change_requests_one_in_approval', 'change_requests', ['employer_no'], unique=True,
                    sqlite_where=OLD_WHERE, postgresql_where=OLD_WHERE)
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.drop_column('end_reason')
        batch_op.drop_column('ended_by')
        batch_op.drop_column('returned_at')
        batch_op.drop_column('instance_id')
