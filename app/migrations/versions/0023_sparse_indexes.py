"""Indexes on columns that are mostly NULL hold only the rows that are not

tasks.parent_id (an added approver's task: 加签) and tasks.activity (a countersign's instance)
are NULL for most tasks. A full index on them told SQLite's planner (ANALYZE's statistics)
that one value matches every row, so it looked an added approver up by the status index
instead: each row of an inbox read every open task. bench/inbox.py, 1,000,000 tasks (100,000
open): the first inbox page took 7.8 s against 10 ms for 1,000 tasks. Partial indexes (WHERE
... IS NOT NULL) are counted over the rows they hold, and serve every `= value` lookup.
task_actions gains (user_id, kind): the inbox's copied-to-me tab and its count read a user's
copies, which the (request_id, user_id) index cannot find.

Revision ID: 0023
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    for column in ('parent_id', 'activity'):
        op.drop_index(f'ix_tasks_{column}', table_name='tasks')
        op.create_index(f'ix_tasks_{column}', 'tasks', [column],
                        sqlite_where=sa.text(f'{column} IS NOT NULL'),
                        postgresql_where=sa.text(f'{column} IS NOT NULL'))
    op.create_index('ix_task_actions_user_kind', 'task_actions', ['user_id', 'kind'])


def downgrade():
    op.drop_index('ix_task_actions_user_kind', table_name='task_actions')
    for column in ('parent_id', 'activity'):
        op.drop_index(f'ix_tasks_{column}', table_name='tasks')
        op.create_index(f'ix_tasks_{column}', 'tasks', [column])
