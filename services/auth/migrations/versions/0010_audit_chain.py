"""the audit trail becomes a hash chain: each record's hash over its content and its predecessor's
hash, and the chain's one-row head; the records already there are chained in id order (docs/audit.md)

Revision ID: 0010_audit_chain
Revises: 0009_closed_employers
Create Date: 2026-12-04 17:00:00
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = '0010_audit_chain'
down_revision = '0009_closed_employers'
branch_labels = None
depends_on = None

# The chain's rule as it stood at this revision (hall_common.audit_chain; a migration never imports code
# that may change later): SHA-256 of the canonical JSON of the content and the predecessor's hash.
GENESIS = "0" * 64
CONTENT = ("id", "actor", "action", "target", "detail", "before", "after", "at")
PAGE = 1000

records = sa.table(
    'audit_records', sa.column('id', sa.Integer()), sa.column('actor', sa.String()), sa.column('action', sa.String()),
    sa.column('target', sa.String()), sa.column('detail', sa.String()), sa.column('before', sa.Text()),
    sa.column('after', sa.Text()), sa.column('at', sa.DateTime()), sa.column('prev_hash', sa.String()),
    sa.column('hash', sa.String()),
)


def _hash(row: sa.Row, prev_hash: str) -> str:
    payload = {name: getattr(row, name) for name in CONTENT}
    payload["at"] = row.at.strftime("%Y-%m-%dT%H:%M:%S.%f")
    payload["prev_hash"] = prev_hash
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    head = op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    connection = op.get_bind()
    last_id, last_hash = 0, GENESIS
    while True:  # a page at a time: an old trail may be long
        rows = connection.execute(sa.select(*[records.c[name] for name in CONTENT]).where(records.c.id > last_id)
                                  .order_by(records.c.id).limit(PAGE)).all()
        if not rows:
            break
        chained = []
        for row in rows:
            digest = _hash(row, last_hash)
            chained.append({'row_id': row.id, 'chained_prev': last_hash, 'chained_hash': digest})
            last_id, last_hash = row.id, digest
        connection.execute(records.update().where(records.c.id == sa.bindparam('row_id'))
                           .values(prev_hash=sa.bindparam('chained_prev'), hash=sa.bindparam('chained_hash')), chained)
    op.bulk_insert(head, [{'id': 1, 'last_id': last_id, 'last_hash': last_hash}])
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    op.drop_table('audit_chain_head')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
