"""process tracks keep the submitting operator's login name: 我发起的 of one operator filters by it

Revision ID: 0008_initiator_login
Revises: 0007_track_counts
Create Date: 2026-11-28 12:25:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_initiator_login'
down_revision = '0007_track_counts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tracks folded before this revision have no login: they stay in the employer's lists only (the
    # next event of their instance, which carries the login, fills it in).
    with op.batch_alter_table('process_tracks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('initiator_login', sa.String(length=50), nullable=False, server_default=''))
        batch_op.create_index('ix_process_tracks_employer_initiator', ['employer_no', 'initiator_login', 'instance_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('process_tracks', schema=None) as batch_op:
        batch_op.drop_index('ix_process_tracks_employer_initiator')
        batch_op.drop_column('initiator_login')
