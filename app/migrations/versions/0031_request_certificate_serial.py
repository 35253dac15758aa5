"""A sealed request keeps the serial of the certificate that signed it

The seal-usage log showed the seal's current certificate serial, which a renewal changes:
requests.certificate_serial keeps the one that signed, set at sealing. Requests sealed before
this have none (the log shows the seal's serial, as before).

Revision ID: 0031
Revises: 0025
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certificate_serial', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('certificate_serial')
