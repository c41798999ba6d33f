# ruff: noqa: E501, I001
"""verifiable prints: what each printed verification code stands for

Revision ID: 0005d_verify
Revises: 0004_money
"""
from alembic import op
import sqlalchemy as sa


revision = '0005d_verify'
down_revision = '0004_money'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('print_verifications',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('employer_name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('period', sa.String(length=100), nullable=False),
    sa.Column('totals', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('print_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_verifications_employer_no'), ['employer_no'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('print_verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_verifications_employer_no'))
    op.drop_table('print_verifications')
