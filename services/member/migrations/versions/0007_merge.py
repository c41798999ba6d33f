"""join the member change table and the grid's index (issue 17, built side by side)

Revision ID: 0007_merge
Revises: 0006_member_changes,0006b_grid_index
"""

revision = '0007_merge'
down_revision = ('0006_member_changes', '0006b_grid_index')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
