# ruff: noqa: E501, I001
"""the factor on audit records: how the actor's session was authenticated (docs/audit.md)

Revision ID: 0010_audit_factor
Revises: 0009_one_unsettled_import
Create Date: 2026-12-04 20:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_audit_factor'
down_revision = '0009_one_unsettled_import'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Older records have no factor and hash as before (hall_common.audit_chain.OPTIONAL).
    with op.batch_alter_table('audit_records') as batch:
        batch.add_column(sa.Column('factor', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_records') as batch:
        batch.drop_column('factor')
