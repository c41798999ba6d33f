"""instances keep the employer permission needed to act on them (end, resubmit), from the business
types' catalog at start

Revision ID: 0006_instance_permission
Revises: 0005_initiator_login
Create Date: 2026-12-02 12:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_instance_permission'
down_revision = '0005_initiator_login'
branch_labels = None
depends_on = None

# The catalog as it stood at this revision (a migration never imports code that may change later).
PERMISSIONS = {
    "employer_change": "employer_change", "member_change": "member_change", "base_adjustment": "base_adjust",
    "supplementary_payment": "supplement", "member_registration": "member_register", "member_seal": "seal",
    "member_unseal": "unseal", "zero_balance_closure": "closure",
}


def upgrade() -> None:
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('permission', sa.String(length=50), nullable=False, server_default=''))
    instances = sa.table('process_instances', sa.column('business_type', sa.String), sa.column('permission', sa.String))
    for business_type, permission in PERMISSIONS.items():
        op.execute(instances.update().where(instances.c.business_type == business_type).values(permission=permission))


def downgrade() -> None:
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_column('permission')
