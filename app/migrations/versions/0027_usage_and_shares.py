"""the seal-usage log's timestamp time, and share links

requests.timestamped_at: the time in the seal's RFC 3161 timestamp, read from the sealed PDF at
sealing (None for requests sealed before). share_links: links to a sealed document's page, the
token and an optional password stored hashed.

Revision ID: 0027
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('requests') as batch:
        batch.add_column(sa.Column('timestamped_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('requests') as batch:
        batch.drop_column('timestamped_at')
