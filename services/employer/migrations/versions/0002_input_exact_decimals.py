"""exact money and ratio columns: scaled integers on SQLite, NUMERIC(18,2) money on PostgreSQL

SQLite stored NUMERIC as a float, so sums drifted; see hall_common/coltypes.py.

Revision ID: 0002_input
Revises: 0001
"""
from hall_common.plumbing_migrations import downgrade_0002_exact_decimals, upgrade_0002_exact_decimals

revision = '0002_input'
down_revision = '0001'
branch_labels = None
depends_on = None

# table -> column -> (precision before, precision after, scale)
COLUMNS = {'employers': {'employer_ratio': (5, 5, 4), 'personal_ratio': (5, 5, 4)}}


def upgrade() -> None:
    upgrade_0002_exact_decimals(COLUMNS)


def downgrade() -> None:
    downgrade_0002_exact_decimals(COLUMNS)
