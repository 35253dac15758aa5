"""lifecycle flows: process_definitions.seal_action; requests.seal_id may be null (make)

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal_action', sa.String(length=20), nullable=True))
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.alter_column('seal_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.alter_column('seal_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('process_definitions', schema=None) as batch_op:
        batch_op.drop_column('seal_action')
