# ruff: noqa: E501, I001
"""the center's second factor: each center account's TOTP secret (encrypted), its enrolment and the
last time-step used; the factor each session was opened with; the factor on audit records

Revision ID: 0013_center_factor
Revises: 0012_webauthn
Create Date: 2026-12-04 20:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_center_factor'
down_revision = '0012_webauthn'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('operators') as batch:
        batch.add_column(sa.Column('totp_secret', sa.Text(), nullable=True))
        batch.add_column(sa.Column('totp_pending_secret', sa.Text(), nullable=True))
        batch.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('totp_enrolled_at', sa.DateTime(), nullable=True))
    # Sessions opened before this revision have no factor: their tokens carry no amr.
    with op.batch_alter_table('sessions') as batch:
        batch.add_column(sa.Column('factor', sa.String(length=20), nullable=True))
    # Older records have no factor and hash as before (hall_common.audit_chain.OPTIONAL).
    with op.batch_alter_table('audit_records') as batch:
        batch.add_column(sa.Column('factor', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_records') as batch:
        batch.drop_column('factor')
    with op.batch_alter_table('sessions') as batch:
        batch.drop_column('factor')
    with op.batch_alter_table('operators') as batch:
        batch.drop_column('totp_enrolled_at')
        batch.drop_column('totp_last_step')
        batch.drop_column('totp_pending_secret')
        batch.drop_column('totp_secret')
