"""published_crls.issuer: the root CA publishes a CRL too (for the issuing CA)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('published_crls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer', sa.String(length=20), nullable=False,
                                      server_default='issuing'))
        batch_op.drop_constraint('uq_published_crls_number', type_='unique')
        batch_op.create_unique_constraint('uq_published_crls_issuer_number', ['issuer', 'number'])


def downgrade():
    op.execute("DELETE FROM published_crls WHERE issuer = 'root'")
    with op.batch_alter_table('published_crls', schema=None) as batch_op:
        batch_op.drop_constraint('uq_published_crls_issuer_number', type_='unique')
        batch_op.create_unique_constraint('uq_published_crls_number', ['number'])
        batch_op.drop_column('issuer')
