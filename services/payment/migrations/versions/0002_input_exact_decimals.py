"""exact money and ratio columns: scaled integers on SQLite, NUMERIC(18,2) money on PostgreSQL

SQLite stored NUMERIC as a float, so sums drifted; see hall_common/coltypes.py.

Revision ID: 0002_input
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_input'
down_revision = '0001'
branch_labels = None
depends_on = None

# table -> column -> (precision before, precision after, scale)
COLUMNS = {
    'employer_accounts': {'balance': (14, 18, 2), 'unallocated': (14, 18, 2)},
    'member_accounts': {'balance': (14, 18, 2)},
}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in COLUMNS.items():
        if sqlite:
            for column, (_, _, scale) in columns.items():
                op.execute(f"UPDATE {table} SET {column} = CAST(ROUND({column} * {10 ** scale}) AS INTEGER)")
        with op.batch_alter_table(table) as batch:
            for column, (before, after, scale) in columns.items():
                batch.alter_column(column, existing_type=sa.Numeric(before, scale), existing_nullable=False,
                                   type_=sa.BigInteger() if sqlite else sa.Numeric(after, scale))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column, (before, after, scale) in columns.items():
                batch.alter_column(column, existing_type=sa.BigInteger() if sqlite else sa.Numeric(after, scale),
                                   existing_nullable=False, type_=sa.Numeric(before, scale))
        if sqlite:
            for column, (_, _, scale) in columns.items():
                op.execute(f"UPDATE {table} SET {column} = {column} / {10 ** scale}.0")
