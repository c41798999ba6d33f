"""center groups and their members (default groups seeded); audit records gain before/after

Revision ID: 0004_groups_audit
Revises: 0003_merge
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0004_groups_audit'
down_revision = '0003_merge'
branch_labels = None
depends_on = None

# The groups the default processes name (handler 经办 -> reviewer 复核 -> chief 负责人); written out here,
# not imported, so this revision stays what it was when later code changes.
DEFAULT_GROUPS = [("handler", "经办"), ("reviewer", "复核"), ("chief", "负责人")]


def upgrade() -> None:
    groups = op.create_table(
        'groups',
        sa.Column('code', sa.String(length=30), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('code'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'group_members',
        sa.Column('group_code', sa.String(length=30), nullable=False),
        sa.Column('login_name', sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(['group_code'], ['groups.code']),
        sa.ForeignKeyConstraint(['login_name'], ['operators.login_name']),
        sa.PrimaryKeyConstraint('group_code', 'login_name'),
    )
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_members_login_name'), ['login_name'], unique=False)
    now = datetime.now(UTC).replace(tzinfo=None)  # stored naive UTC, as hall_common.db.utcnow
    # A microsecond apart: the list shows them in the order a default process runs through them.
    op.bulk_insert(groups, [{'code': code, 'name': name, 'created_at': now + timedelta(microseconds=i)}
                            for i, (code, name) in enumerate(DEFAULT_GROUPS)])

    # Existing records stay; they simply have no before/after.
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.alter_column('target', existing_type=sa.String(length=100), type_=sa.String(length=200),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('before', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('after', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_records_action'), ['action'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_records_action'))
        batch_op.drop_column('after')
        batch_op.drop_column('before')
        batch_op.alter_column('target', existing_type=sa.String(length=200), type_=sa.String(length=100),
                              existing_nullable=False)
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_members_login_name'))
    op.drop_table('group_members')
    op.drop_table('groups')
