# ruff: noqa: E501, I001
"""the money: journal with member lines, unallocated movements, receipts, remittance bills

Revision ID: 0004_money
Revises: 0003_merge
Create Date: 2026-12-03 13:01:28.942932
"""
from alembic import op
import sqlalchemy as sa

import hall_common.coltypes


revision = '0004_money'
down_revision = '0003_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journal_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('serial_no', sa.String(length=24), nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('detail_type', sa.String(length=2), nullable=False),
    sa.Column('summary', sa.String(length=100), nullable=False),
    sa.Column('amount', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.Column('interest', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('serial_no'),
    sa.UniqueConstraint('source')
    )
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index('ix_journal_entries_employer_date', ['employer_no', 'booking_date', 'id'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bank_reference', sa.String(length=64), nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('amount', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('memo', sa.String(length=200), nullable=False),
    sa.Column('poster', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('bank_reference')
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index('ix_receipts_employer_date', ['employer_no', 'received_on', 'id'], unique=False)

    op.create_table('unallocated_movements',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('booked_on', sa.Date(), nullable=False),
    sa.Column('amount', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.Column('summary', sa.String(length=100), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source')
    )
    with op.batch_alter_table('unallocated_movements', schema=None) as batch_op:
        batch_op.create_index('ix_unallocated_movements_employer_date', ['employer_no', 'booked_on', 'id'], unique=False)

    op.create_table('journal_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('member_no', sa.String(length=20), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('detail_type', sa.String(length=2), nullable=False),
    sa.Column('amount', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.Column('interest', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('journal_lines', schema=None) as batch_op:
        batch_op.create_index('ix_journal_lines_employer_date', ['employer_no', 'booking_date', 'id'], unique=False)
        batch_op.create_index('ix_journal_lines_entry', ['entry_id', 'id'], unique=False)
        batch_op.create_index('ix_journal_lines_member_date', ['member_no', 'booking_date', 'id'], unique=False)

    op.create_table('remittance_bills',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('employer_no', 'month', name='uq_remittance_bills_employer_month')
    )
    op.create_table('bill_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=False),
    sa.Column('member_no', sa.String(length=20), nullable=False),
    sa.Column('amount', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['bill_id'], ['remittance_bills.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bill_lines', schema=None) as batch_op:
        batch_op.create_index('ix_bill_lines_bill', ['bill_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('bill_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_bill_lines_bill')

    op.drop_table('bill_lines')
    op.drop_table('remittance_bills')
    with op.batch_alter_table('journal_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_lines_member_date')
        batch_op.drop_index('ix_journal_lines_entry')
        batch_op.drop_index('ix_journal_lines_employer_date')

    op.drop_table('journal_lines')
    with op.batch_alter_table('unallocated_movements', schema=None) as batch_op:
        batch_op.drop_index('ix_unallocated_movements_employer_date')

    op.drop_table('unallocated_movements')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_receipts_employer_date')

    op.drop_table('receipts')
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_entries_employer_date')

    op.drop_table('journal_entries')
