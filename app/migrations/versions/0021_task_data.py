"""tasks.data: the values entered on a task's form when it was decided

A required form field (法务意见, the legal department's opinion) was checked and handed to the
flow, then shown nowhere: the next task's values replaced it in the instance's variables. The
task's row now keeps what was entered on its form, which the request's history shows.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('data')
