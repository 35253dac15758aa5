"""task_actions: return for revision, delegate, add an approver, copy-to; added approvers' tasks

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'task_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('target', sa.String(length=200), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id'],
                                name=op.f('fk_task_actions_request_id_requests'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_task_actions_actor_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_task_actions_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_actions')),
    )
    op.create_index('ix_task_actions_request_user', 'task_actions', ['request_id', 'user_id'])
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('parent_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('position', sa.String(length=10), nullable=True))
        batch.add_column(sa.Column('held', sa.JSON(), nullable=True))
        batch.create_index(batch.f('ix_tasks_parent_id'), ['parent_id'])


def downgrade():
    with op.batch_alter_table('tasks') as batch:
        batch.drop_index(batch.f('ix_tasks_parent_id'))
        batch.drop_column('held')
        batch.drop_column('position')
        batch.drop_column('parent_id')
    op.drop_index('ix_task_actions_request_user', table_name='task_actions')
    op.drop_table('task_actions')
