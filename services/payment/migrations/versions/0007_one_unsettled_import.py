"""one unsettled import per roster: a partial unique index decides between simultaneous uploads (the
check before the insert let two through); a roster that already has several keeps its newest, the older
ones are discarded with their staged rows, as 放弃 would

Revision ID: 0007_one_unsettled_import
Revises: 0006_merge
Create Date: 2026-12-04 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_one_unsettled_import'
down_revision = '0006_merge'
branch_labels = None
depends_on = None

WHERE = "status IN ('queued', 'running', 'checked')"
# The unsettled imports that are not their roster's newest unsettled one.
OLDER = (f"SELECT i.id FROM roster_imports i WHERE i.{WHERE} AND i.id < (SELECT max(n.id) FROM roster_imports n "
         f"WHERE n.employer_no = i.employer_no AND n.business_type = i.business_type AND n.{WHERE})")


def upgrade() -> None:
    op.execute(f"DELETE FROM roster_rows WHERE staged = true AND import_id IN ({OLDER})")
    op.execute(f"UPDATE roster_imports SET status = 'discarded', message = '已放弃本次导入' WHERE id IN ({OLDER})")
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.create_index('uq_roster_imports_unsettled', ['employer_no', 'business_type'], unique=True,
                              sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.drop_index('uq_roster_imports_unsettled', sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))
