"""process_definitions: the deployer's comment, and when and by whom a version was retired

A version's deploy history shows the comment given with it. A retired version starts no new
requests (those running on it finish); the latest version not retired is the one filed on.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_definitions') as batch:
        batch.add_column(sa.Column('comment', sa.Text(), nullable=True))
        batch.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('retired_by_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_process_definitions_retired_by_id_users', 'users',
                                 ['retired_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('process_definitions') as batch:
        batch.drop_constraint('fk_process_definitions_retired_by_id_users', type_='foreignkey')
        batch.drop_column('retired_by_id')
        batch.drop_column('retired_at')
        batch.drop_column('comment')
