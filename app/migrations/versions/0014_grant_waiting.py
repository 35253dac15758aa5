"""signing_grants.waiting: a grant waiting for the timestamp service (its tries, the next one)

A sealing job whose timestamp could not be had (the TSA unreachable, slow, busy) no longer
fails the request at once: the grant waits and tries again with backoff, and says so here.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signing_grants') as batch:
        batch.add_column(sa.Column('waiting', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('signing_grants') as batch:
        batch.drop_column('waiting')
