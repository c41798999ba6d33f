# ruff: noqa: E501, I001
"""closed employers (zero-balance closure)

Revision ID: 0009_closed_employers
Revises: 0008_service_tokens
Create Date: 2026-12-03 13:09:20.353197
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_closed_employers'
down_revision = '0008_service_tokens'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('closed_employers',
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('employer_no')
    )


def downgrade() -> None:
    op.drop_table('closed_employers')
