"""A seal's lifecycle step keeps the part of its reason Sealflow wrote as a message key and values

seal_transitions.reason held finished text that mixed Sealflow's English ("request #12:
custodians changed: ...", "certificate 1f imported from CN=...") with the person's own words,
shown as it was to Chinese readers too. seal_transitions.reason_key (an English template the
catalogues translate) and reason_args (JSON; the person's words a value, never translated) now
keep it so that the seal page puts it into the reader's language; reason keeps the English
(the audit, the CLI). Existing rows keep their text and no key: they show as before.

Revision ID: 0030
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('seal_transitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reason_args', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('seal_transitions', schema=None) as batch_op:
        batch_op.drop_column('reason_args')
        batch_op.drop_column('reason_key')
