"""the batch-edit grid's index: an employer's members by status, in member number order

Revision ID: 0006b_grid_index
Revises: 0005_policy
Create Date: 2026-12-03 08:00:00
"""
from alembic import op

revision = '0006b_grid_index'
down_revision = '0005_policy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 基数调整's grid pages through one employer's 正常 members in member number order: this index
    # answers the page (and its count) without touching the rest of the table.
    op.create_index('ix_members_employer_status_member', 'members', ['employer_no', 'status', 'member_no'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_members_employer_status_member', table_name='members')
