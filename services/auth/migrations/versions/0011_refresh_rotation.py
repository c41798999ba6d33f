# ruff: noqa: E501, I001
"""refresh token rotation: each session's refresh generation and its last rotation

Revision ID: 0011_refresh_rotation
Revises: 0010_audit_chain
Create Date: 2026-12-04 17:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_refresh_rotation'
down_revision = '0010_audit_chain'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions open before this revision hold a random refresh token of generation 0: it is still
    # found by its hash and rotates into the derived tokens at its next renewal.
    with op.batch_alter_table('sessions') as batch:
        batch.add_column(sa.Column('refresh_generation', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('refreshed_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sessions') as batch:
        batch.drop_column('refreshed_at')
        batch.drop_column('refresh_generation')
