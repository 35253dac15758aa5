"""seals.csr_pem, seals.chain_pem: seals certified by a CA outside Sealflow

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('seals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('csr_pem', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('chain_pem', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('seals', schema=None) as batch_op:
        batch_op.drop_column('chain_pem')
        batch_op.drop_column('csr_pem')
