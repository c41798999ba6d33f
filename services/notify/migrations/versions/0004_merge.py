"""join the maintained box counts and the process tracks

Revision ID: 0004_merge
Revises: 0003_box_counts,0003_process_tracks
"""

revision = '0004_merge'
down_revision = ("0003_box_counts", "0003_process_tracks")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
