"""inbox item ids are never reused: AUTOINCREMENT on SQLite

Without AUTOINCREMENT, SQLite gives a new row max(id) + 1, so after the newest item is deleted its id
comes back for the next message and an old 查看 link opens that one. PostgreSQL sequences never go
back: nothing to do there.

Revision ID: 0005_inbox_ids
Revises: 0004_merge
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_inbox_ids'
down_revision = '0004_merge'
branch_labels = None
depends_on = None


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # SQLite cannot alter a primary key: batch mode copies the rows into a table created anew. The
    # sequence then starts from the largest id kept (ids freed before this migration cannot be known).
    with op.batch_alter_table(
        "inbox_items", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ) as batch_op:
        batch_op.alter_column("id", existing_type=sa.Integer(), autoincrement=True, existing_nullable=False)


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
