"""seals.pades_level: a seal's own PAdES level (null: SEALFLOW_PADES_LEVEL)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('seals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pades_level', sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table('seals', schema=None) as batch_op:
        batch_op.drop_column('pades_level')
