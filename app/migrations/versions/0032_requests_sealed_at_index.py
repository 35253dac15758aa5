"""The dashboard's seal uses read an index of the sealed requests

Seal uses per seal and month (processes/dashboard/figures.py) counted requests by sealed_at,
which no index held: each dashboard read every request, and on SQLite, where a request's
serialized state (a few KB) sits in its row before sealed_at, every page of it. An index on
(sealed_at, seal_id) holding only the sealed requests (WHERE sealed_at IS NOT NULL) answers
the figure by itself, whatever the range.

Revision ID: 0032
Revises: 0031
"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_requests_sealed_at', 'requests', ['sealed_at', 'seal_id'],
                    sqlite_where=sa.text('sealed_at IS NOT NULL'),
                    postgresql_where=sa.text('sealed_at IS NOT NULL'))


def downgrade():
    op.drop_index('ix_requests_sealed_at', table_name='requests')
