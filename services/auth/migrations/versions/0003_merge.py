"""join the independent schema changes of the hardening work

Revision ID: 0003_merge
Revises: 0002_events,0002_sessions
"""

revision = '0003_merge'
down_revision = ('0002_events','0002_sessions')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
