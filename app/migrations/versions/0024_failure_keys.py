"""A request's failure reason kept as a message key and arguments beside its text

requests.failure held finished English text, which the pages and the API showed in both
languages. requests.failure_key (an English template, which the catalogues translate) and
requests.failure_args (JSON) now keep the same reason so that it is put into the reader's
language when shown; requests.failure keeps the English (logs, the audit, older clients).
Existing rows keep their text and no key: they show as before.

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('failure_args', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('failure_args')
        batch_op.drop_column('failure_key')
