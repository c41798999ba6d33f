"""pushes: messages the center and downstream systems send to one, a list or all employers

Revision ID: 0006_push
Revises: 0005_inbox_ids
Create Date: 2026-11-28 11:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_push'
down_revision = '0005_inbox_ids'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pushes',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('sender', sa.String(length=50), nullable=False),
        sa.Column('sender_role', sa.String(length=20), nullable=False),
        sa.Column('client_key', sa.String(length=64), nullable=False),
        sa.Column('target', sa.String(length=10), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('stored', sa.Integer(), nullable=False),
        sa.Column('cursor', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.create_index('ux_pushes_sender_key', ['sender_role', 'sender', 'client_key'], unique=True)
        batch_op.create_index('ix_pushes_status', ['status', 'updated_at'], unique=False)
    with op.batch_alter_table('inbox_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('push_id', sa.Integer(), nullable=True))
        batch_op.create_index('ux_inbox_items_push_employer', ['push_id', 'employer_no'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('inbox_items', schema=None) as batch_op:
        batch_op.drop_index('ux_inbox_items_push_employer')
        batch_op.drop_column('push_id')
    with op.batch_alter_table('pushes', schema=None) as batch_op:
        batch_op.drop_index('ix_pushes_status')
        batch_op.drop_index('ux_pushes_sender_key')
    op.drop_table('pushes')
