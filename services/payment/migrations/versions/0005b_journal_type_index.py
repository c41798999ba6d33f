# ruff: noqa: I001
"""7.3's journal by detail type: an index leading with the employer and the type

Revision ID: 0005b_journal_type_index
Revises: 0004_money
Create Date: 2026-12-03 13:20:00.000000
"""
from alembic import op


revision = '0005b_journal_type_index'
down_revision = '0004_money'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index('ix_journal_entries_employer_type_date',
                              ['employer_no', 'detail_type', 'booking_date', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_journal_entries_employer_type_date')
