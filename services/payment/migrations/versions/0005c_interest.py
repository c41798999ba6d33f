# ruff: noqa: E501, I001
"""interest settlement progress (结息)

Revision ID: 0005c_interest
Revises: 0004_money
"""
from alembic import op
import sqlalchemy as sa

import hall_common.coltypes


revision = '0005c_interest'
down_revision = '0004_money'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('interest_runs',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('current_rate', sa.String(length=12), nullable=False),
    sa.Column('carried_rate', sa.String(length=12), nullable=False),
    sa.Column('day_basis', sa.Integer(), nullable=False),
    sa.Column('cursor', sa.String(length=20), nullable=False),
    sa.Column('employers_total', sa.Integer(), nullable=False),
    sa.Column('employers_done', sa.Integer(), nullable=False),
    sa.Column('members_done', sa.Integer(), nullable=False),
    sa.Column('interest_total', hall_common.coltypes.ScaledDecimal(precision=18, scale=2), nullable=False),
    sa.Column('started_by', sa.String(length=50), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('year')
    )


def downgrade() -> None:
    op.drop_table('interest_runs')
