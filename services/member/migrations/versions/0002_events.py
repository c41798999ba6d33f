"""dead letters: events the service gave up on, kept for the center to retry; outbox receipt checks

Revision ID: 0002_events
Revises: 0001
Create Date: 2026-11-28 08:00:00
"""
from hall_common.plumbing_migrations import downgrade_0002_events, upgrade_0002_events

revision = '0002_events'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_0002_events()


def downgrade() -> None:
    downgrade_0002_events()
