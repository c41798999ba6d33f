"""process tracks keep the employer permission their instance carries (who may resubmit or end it)

Revision ID: 0009_track_permission
Revises: 0008_initiator_login
Create Date: 2026-12-02 12:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_track_permission'
down_revision = '0008_initiator_login'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tracks folded before this revision get it with the next event of their instance.
    with op.batch_alter_table('process_tracks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('permission', sa.String(length=50), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('process_tracks', schema=None) as batch_op:
        batch_op.drop_column('permission')
