# ruff: noqa: E501
"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 05:40:21.647340
"""
import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('employers',
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('open_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=2), nullable=False),
    sa.Column('employer_ratio', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('personal_ratio', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('postcode', sa.String(length=6), nullable=False),
    sa.Column('legal_representative', sa.String(length=50), nullable=False),
    sa.Column('contact_name', sa.String(length=50), nullable=False),
    sa.Column('contact_mobile', sa.String(length=20), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('employer_no')
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_published_at'), ['published_at'], unique=False)

    op.create_table('processed_events',
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_table('revoked_sessions',
    sa.Column('token_id', sa.String(length=36), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token_id')
    )
    with op.batch_alter_table('revoked_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revoked_sessions_expires_at'), ['expires_at'], unique=False)

    op.create_table('change_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('operator', sa.String(length=50), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('approver', sa.String(length=50), nullable=True),
    sa.Column('opinion', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['employer_no'], ['employers.employer_no'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_requests_employer_no'), ['employer_no'], unique=False)
        batch_op.create_index('uq_change_requests_one_in_approval', ['employer_no'], unique=True, sqlite_where=sa.text("status = 'in_approval'"), postgresql_where=sa.text("status = 'in_approval'"))

    op.create_table('change_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employer_no', sa.String(length=20), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=50), nullable=False),
    sa.Column('label', sa.String(length=50), nullable=False),
    sa.Column('old_value', sa.String(length=200), nullable=False),
    sa.Column('new_value', sa.String(length=200), nullable=False),
    sa.Column('operator', sa.String(length=50), nullable=False),
    sa.Column('approver', sa.String(length=50), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['employer_no'], ['employers.employer_no'], ),
    sa.ForeignKeyConstraint(['request_id'], ['change_requests.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('change_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_history_changed_at'), ['changed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_change_history_employer_no'), ['employer_no'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('change_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_history_employer_no'))
        batch_op.drop_index(batch_op.f('ix_change_history_changed_at'))

    op.drop_table('change_history')
    with op.batch_alter_table('change_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_change_requests_one_in_approval', sqlite_where=sa.text("status = 'in_approval'"), postgresql_where=sa.text("status = 'in_approval'"))
        batch_op.drop_index(batch_op.f('ix_change_requests_employer_no'))

    op.drop_table('change_requests')
    with op.batch_alter_table('revoked_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revoked_sessions_expires_at'))

    op.drop_table('revoked_sessions')
    op.drop_table('processed_events')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_published_at'))

    op.drop_table('outbox')
    op.drop_table('employers')
