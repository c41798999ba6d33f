"""待办, 已办 and 我发起的 counted in inbox_box_counts too, filled from the existing process tracks

From this revision the track handler keeps these counts as a track moves between boxes, so the tabs and
the boxes' totals are key lookups, not COUNT(*) over every track of the employer on each page.

Revision ID: 0007_track_counts
Revises: 0006_push
"""
from alembic import op

revision = '0007_track_counts'
down_revision = '0006_push'
branch_labels = None
depends_on = None

# The box rules of services/notify/tracks.py (_in_box), as SQL.
RULES = {
    "todo": "status = 'returned'",
    "done": "acted_at IS NOT NULL AND status <> 'returned'",
    "initiated": "1 = 1",
}


def upgrade() -> None:
    for box, where in RULES.items():
        op.execute(
            "INSERT INTO inbox_box_counts (employer_no, box, n) "
            f"SELECT employer_no, '{box}', COUNT(*) FROM process_tracks WHERE {where} GROUP BY employer_no"
        )


def downgrade() -> None:
    op.execute("DELETE FROM inbox_box_counts WHERE box IN ('todo', 'done', 'initiated')")
