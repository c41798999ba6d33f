"""center permissions become data: center roles and their members; center_admin becomes every named
center permission

Revision ID: 0006_center_rights
Revises: 0005_large_text
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0006_center_rights'
down_revision = '0005_large_text'
branch_labels = None
depends_on = None

# Written out, not imported: this revision stays what it was when later code adds permissions.
CENTER_PERMISSIONS = ["account_admin", "ukey_admin", "center_rights", "group_admin", "process_design",
                      "process_monitor", "push", "service_tokens", "dead_letters", "audit", "policy"]


def upgrade() -> None:
    op.create_table(
        'center_roles',
        sa.Column('code', sa.String(length=30), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('permissions', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('code'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'center_role_members',
        sa.Column('role_code', sa.String(length=30), nullable=False),
        sa.Column('login_name', sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(['role_code'], ['center_roles.code']),
        sa.ForeignKeyConstraint(['login_name'], ['operators.login_name']),
        sa.PrimaryKeyConstraint('role_code', 'login_name'),
    )
    with op.batch_alter_table('center_role_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_center_role_members_login_name'), ['login_name'], unique=False)
    # Every center account that held the one coarse right keeps what it could do: each named permission.
    bind = op.get_bind()
    operators = sa.table('operators', sa.column('id', sa.Integer), sa.column('role', sa.String),
                         sa.column('permissions', sa.JSON))
    for row in bind.execute(sa.select(operators.c.id, operators.c.permissions).where(operators.c.role == 'center')):
        held = row.permissions if isinstance(row.permissions, list) else json.loads(row.permissions or '[]')
        if 'center_admin' in held:
            kept = [p for p in held if p != 'center_admin'] + CENTER_PERMISSIONS
            bind.execute(sa.update(operators).where(operators.c.id == row.id).values(permissions=kept))


def downgrade() -> None:
    with op.batch_alter_table('center_role_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_center_role_members_login_name'))
    op.drop_table('center_role_members')
    op.drop_table('center_roles')
