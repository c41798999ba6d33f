# ruff: noqa: E501, I001
"""supplement: the payment roster and the months paid by 补缴

Revision ID: 0005e_supplement
Revises: 0004_money
Create Date: 2026-12-03 13:09:13.567419
"""
from alembic import op
import sqlalchemy as sa

import hall_common.coltypes


revision = '0005e_supplement'
down_revision = '0004_money'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('roster_batches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('employer_name', sa.String(length=100), nullable=False),
    sa.Column('business_type', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=50), nullable=False),
    sa.Column('operator_login', sa.String(length=50), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('approver', sa.String(length=50), nullable=True),
    sa.Column('opinion', sa.String(length=500), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('ended_by', sa.String(length=20), nullable=True),
    sa.Column('end_reason', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('roster_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_batches_employer_no'), ['employer_no'], unique=False)

    op.create_table('roster_imports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('business_type', sa.String(length=40), nullable=False),
    sa.Column('option', sa.String(length=20), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('marked', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('good', sa.Integer(), nullable=False),
    sa.Column('bad', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Text(), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.create_index('ix_roster_imports_owner', ['employer_no', 'business_type', 'status'], unique=False)

    op.create_table('roster_rows',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('business_type', sa.String(length=40), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('staged', sa.Boolean(), nullable=False),
    sa.Column('claim', sa.String(length=60), nullable=True),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('result', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('employer_no', 'business_type', 'claim', name='uq_roster_rows_claim')
    )
    with op.batch_alter_table('roster_rows', schema=None) as batch_op:
        batch_op.create_index('ix_roster_rows_draft', ['employer_no', 'business_type', 'batch_id', 'staged'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_rows_import_id'), ['import_id'], unique=False)

    op.create_table('supplement_months',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('member_no', sa.String(length=20), nullable=False),
    sa.Column('month', sa.String(length=6), nullable=False),
    sa.Column('amount', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('business_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_no', 'month', name='uq_supplement_months_member_month')
    )
    with op.batch_alter_table('supplement_months', schema=None) as batch_op:
        batch_op.create_index('ix_supplement_months_business', ['business_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('supplement_months', schema=None) as batch_op:
        batch_op.drop_index('ix_supplement_months_business')

    op.drop_table('supplement_months')
    with op.batch_alter_table('roster_rows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_rows_import_id'))
        batch_op.drop_index('ix_roster_rows_draft')

    op.drop_table('roster_rows')
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.drop_index('ix_roster_imports_owner')

    op.drop_table('roster_imports')
    with op.batch_alter_table('roster_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_batches_employer_no'))

    op.drop_table('roster_batches')
