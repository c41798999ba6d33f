"""inbox box counts: one row per employer and box, kept with every insert, move and delete

Revision ID: 0003_box_counts
Revises: 0002_events
Create Date: 2026-11-28 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_box_counts'
down_revision = '0002_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inbox_box_counts',
        sa.Column('employer_no', sa.String(length=20), nullable=False),
        sa.Column('box', sa.String(length=20), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('employer_no', 'box'),
    )
    # The boxes that exist already start from their true size.
    op.execute(
        "INSERT INTO inbox_box_counts (employer_no, box, n) "
        "SELECT employer_no, box, COUNT(*) FROM inbox_items GROUP BY employer_no, box"
    )


def downgrade() -> None:
    op.drop_table('inbox_box_counts')
