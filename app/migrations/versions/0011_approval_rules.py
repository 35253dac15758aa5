"""approval rules: lifecycle requests without a document, countersign activations, distinct
demanded approvers

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    # A lifecycle request (seal_action) carries no PDF: its approvals bind to its data.
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.alter_column('document_id', existing_type=sa.Integer(), nullable=True)
    # The multi-instance activation a task belongs to: its instances need distinct people.
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activity', sa.String(length=36), nullable=True))
    with op.batch_alter_table('seal_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('distinct_demands', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('seal_policies', schema=None) as batch_op:
        batch_op.drop_column('distinct_demands')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('activity')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.alter_column('document_id', existing_type=sa.Integer(), nullable=False)
