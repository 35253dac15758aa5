"""The inbox reads what it holds, not the history: candidate rows say whether their task is open

An inbox finds its tasks through task_candidates (the user's own rows and their groups'). The
rows stay when the task is done (who had a task may see the request), so a group's rows grew
with its whole history, and every inbox page read them all: bench/inbox.py, 100,000 tasks,
the others' done ones offered to any group, took 110 ms against 22 ms for 1,000 tasks.
task_candidates.task_open (cleared by processes.candidates.close as the task is completed or
cancelled) and the indexes (user_id | group_id, task_open, task_id) read the open ones only;
they replace the single-column indexes on user_id and group_id, which are their prefixes.

The done tab (已办) and its count read a user's completed tasks: tasks.completed_by_id is
indexed (without it, every completed task: 46 ms at 100,000 tasks). Each open countersign
instance in an inbox asks whether the user worked another instance of its activation:
tasks.activity is indexed (without it, every task).

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_open', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
        batch_op.drop_index('ix_task_candidates_user_id')
        batch_op.drop_index('ix_task_candidates_group_id')
        batch_op.create_index('ix_task_candidates_user_open',
                              ['user_id', 'task_open', 'task_id'])
        batch_op.create_index('ix_task_candidates_group_open',
                              ['group_id', 'task_open', 'task_id'])
    op.execute("UPDATE task_candidates SET task_open = false WHERE task_id IN "
               "(SELECT id FROM tasks WHERE status <> 'open')")
    op.create_index('ix_tasks_completed_by_id', 'tasks', ['completed_by_id'])
    op.create_index('ix_tasks_activity', 'tasks', ['activity'])


def downgrade():
    op.drop_index('ix_tasks_activity', table_name='tasks')
    op.drop_index('ix_tasks_completed_by_id', table_name='tasks')
    with op.batch_alter_table('task_candidates', schema=None) as batch_op:
        batch_op.drop_index('ix_task_candidates_group_open')
        batch_op.drop_index('ix_task_candidates_user_open')
        batch_op.create_index('ix_task_candidates_group_id', ['group_id'])
        batch_op.create_index('ix_task_candidates_user_id', ['user_id'])
        batch_op.drop_column('task_open')
