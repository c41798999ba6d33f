"""Schema steps that several services take alike (plumbing tables, exact decimal columns), written once.

Each service's migration of the same revision calls the step; a step is frozen once released (a later
change to the plumbing tables is a new step), so editing the models never rewrites an old migration.
"""

import sqlalchemy as sa
from alembic import op


def upgrade_0002_events() -> None:
    op.create_table(
        'dead_letters',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('event_id', sa.String(length=100), nullable=False),
        sa.Column('type', sa.String(length=100), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('first_failed_at', sa.DateTime(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(), nullable=False),
        sa.Column('retry_count', sa.Integer(), nullable=False),
        sa.Column('retried_at', sa.DateTime(), nullable=True),
        sa.Column('retried_by', sa.String(length=100), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id'),
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letters_status'), ['status'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('resent', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_outbox_check_at'), ['check_at'], unique=False)


def downgrade_0002_events() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_check_at'))
        batch_op.drop_column('resent')
        batch_op.drop_column('check_at')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_status'))
    op.drop_table('dead_letters')


def upgrade_0002_exact_decimals(columns_by_table: dict[str, dict[str, tuple[int, int, int]]]) -> None:
    """Money and ratio columns to exact types (hall_common.coltypes): scaled integers on SQLite.

    ``columns_by_table``: table -> column -> (precision before, precision after, scale).
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in columns_by_table.items():
        if sqlite:
            for column, (_, _, scale) in columns.items():
                op.execute(f"UPDATE {table} SET {column} = CAST(ROUND({column} * {10 ** scale}) AS INTEGER)")
        with op.batch_alter_table(table) as batch:
            for column, (before, after, scale) in columns.items():
                batch.alter_column(column, existing_type=sa.Numeric(before, scale), existing_nullable=False,
                                   type_=sa.BigInteger() if sqlite else sa.Numeric(after, scale))


def downgrade_0002_exact_decimals(columns_by_table: dict[str, dict[str, tuple[int, int, int]]]) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, columns in columns_by_table.items():
        with op.batch_alter_table(table) as batch:
            for column, (before, after, scale) in columns.items():
                batch.alter_column(column, existing_type=sa.BigInteger() if sqlite else sa.Numeric(after, scale),
                                   existing_nullable=False, type_=sa.Numeric(before, scale))
        if sqlite:
            for column, (_, _, scale) in columns.items():
                op.execute(f"UPDATE {table} SET {column} = {column} / {10 ** scale}.0")
