# ruff: noqa: E501, I001
"""member info change requests (缴存人信息变更, ch. 9)

Revision ID: 0006_member_changes
Revises: 0005_policy
Create Date: 2026-12-03 07:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_member_changes'
down_revision = '0005_policy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('member_change_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('member_no', sa.String(length=20), nullable=False),
    sa.Column('employer_name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('operator', sa.String(length=50), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('approver', sa.String(length=50), nullable=True),
    sa.Column('opinion', sa.String(length=500), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('ended_by', sa.String(length=20), nullable=True),
    sa.Column('end_reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('member_change_requests', schema=None) as batch_op:
        batch_op.create_index('ix_member_change_requests_employer', ['employer_no', 'status', 'id'], unique=False)
        batch_op.create_index('uq_member_change_requests_one_pending', ['member_no'], unique=True,
                              sqlite_where=sa.text("status IN ('in_approval', 'returned')"),
                              postgresql_where=sa.text("status IN ('in_approval', 'returned')"))


def downgrade() -> None:
    with op.batch_alter_table('member_change_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_member_change_requests_one_pending', sqlite_where=sa.text("status IN ('in_approval', 'returned')"),
                            postgresql_where=sa.text("status IN ('in_approval', 'returned')"))
        batch_op.drop_index('ix_member_change_requests_employer')

    op.drop_table('member_change_requests')
