# ruff: noqa: E501, I001
"""webauthn: security keys of employer accounts, the sessions they opened, the center's switch per employer,
enrolment codes

Revision ID: 0012_webauthn
Revises: 0011_refresh_rotation
Create Date: 2026-12-04 20:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_webauthn'
down_revision = '0011_refresh_rotation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The challenges of registration and login live in login_challenges with the UKey's (single use), each
    # named by its purpose so that one taken for a login never serves a registration.
    with op.batch_alter_table('login_challenges') as batch:
        batch.add_column(sa.Column('purpose', sa.String(length=20), server_default='ukey_login', nullable=False))
    op.create_table(
        'webauthn_credentials',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('login_name', sa.String(length=50), nullable=False),
        sa.Column('credential_id', sa.LargeBinary(length=1024), nullable=False),
        sa.Column('public_key', sa.LargeBinary(length=2048), nullable=False),
        sa.Column('sign_count', sa.Integer(), nullable=False),
        sa.Column('aaguid', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by', sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(['login_name'], ['operators.login_name']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('credential_id'),
    )
    op.create_index('ix_webauthn_credentials_login_name', 'webauthn_credentials', ['login_name'])
    op.create_table(
        'webauthn_sessions',
        sa.Column('session_id', sa.String(length=36), nullable=False),
        sa.Column('key_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['key_id'], ['webauthn_credentials.id']),
        sa.PrimaryKeyConstraint('session_id'),
    )
    op.create_index('ix_webauthn_sessions_key_id', 'webauthn_sessions', ['key_id'])
    op.create_table(
        'webauthn_switches',
        sa.Column('employer_no', sa.String(length=20), nullable=False),
        sa.Column('allowed', sa.Boolean(), nullable=False),
        sa.Column('changed_by', sa.String(length=50), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('employer_no'),
    )
    op.create_table(
        'webauthn_enrolment_codes',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('login_name', sa.String(length=50), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('issued_by', sa.String(length=50), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['login_name'], ['operators.login_name']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code_hash'),
    )
    op.create_index('ix_webauthn_enrolment_codes_login_name', 'webauthn_enrolment_codes', ['login_name'])


def downgrade() -> None:
    with op.batch_alter_table('login_challenges') as batch:
        batch.drop_column('purpose')
    op.drop_index('ix_webauthn_enrolment_codes_login_name', table_name='webauthn_enrolment_codes')
    op.drop_table('webauthn_enrolment_codes')
    op.drop_table('webauthn_switches')
    op.drop_index('ix_webauthn_sessions_key_id', table_name='webauthn_sessions')
    op.drop_table('webauthn_sessions')
    op.drop_index('ix_webauthn_credentials_login_name', table_name='webauthn_credentials')
    op.drop_table('webauthn_credentials')
