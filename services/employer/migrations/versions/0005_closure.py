# ruff: noqa: E501, I001
"""zero-balance closure requests

Revision ID: 0005_closure
Revises: 0004_returns
Create Date: 2026-12-03 13:08:01.505580
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_closure'
down_revision = '0004_returns'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('closure_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
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
    sa.ForeignKeyConstraint(['employer_no'], ['employers.employer_no'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('closure_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closure_requests_employer_no'), ['employer_no'], unique=False)
        batch_op.create_index('uq_closure_requests_one_pending', ['employer_no'], unique=True, sqlite_where=sa.text("status IN ('in_approval', 'returned')"), postgresql_where=sa.text("status IN ('in_approval', 'returned')"))



def downgrade() -> None:
    with op.batch_alter_table('closure_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_closure_requests_one_pending', sqlite_where=sa.text("status IN ('in_approval', 'returned')"), postgresql_where=sa.text("status IN ('in_approval', 'returned')"))
        batch_op.drop_index(batch_op.f('ix_closure_requests_employer_no'))

    op.drop_table('closure_requests')
