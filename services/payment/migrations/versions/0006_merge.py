"""join the money issue's independent schema changes: the journal's type index, interest runs, print
verifications and the 补缴 roster

Revision ID: 0006_merge
Revises: 0005b_journal_type_index, 0005c_interest, 0005d_verify, 0005e_supplement
"""

revision = '0006_merge'
down_revision = ('0005b_journal_type_index', '0005c_interest', '0005d_verify', '0005e_supplement')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
