"""Indexes to find the requests a user may see: their claims, the actions they took

The archive's search finds first the documents a non-auditor may see, when they are few
(processes/requests/visibility.seen: each way of seeing a request read through its own
index). tasks.claimed_by_id (NULL for most tasks, so indexed where not, as in 0023) and
task_actions.actor_id had none: each search read every task and every action.

Revision ID: 0033
Revises: 0032 (re-chained at the merge: 0032 indexes requests.sealed_at)
"""
import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_tasks_claimed_by_id', 'tasks', ['claimed_by_id'],
                    sqlite_where=sa.text('claimed_by_id IS NOT NULL'),
                    postgresql_where=sa.text('claimed_by_id IS NOT NULL'))
    op.create_index('ix_task_actions_actor_id', 'task_actions', ['actor_id'])


def downgrade():
    op.drop_index('ix_task_actions_actor_id', table_name='task_actions')
    op.drop_index('ix_tasks_claimed_by_id', table_name='tasks')
