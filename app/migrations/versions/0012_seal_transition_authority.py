"""seal_transitions.authority: on whose authority a seal's status changed (admin, manager,
flow, system), kept as it stood then, so an administrator's suspension stays one

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('seal_transitions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authority', sa.String(length=20), nullable=True))
    # The steps recorded before: a lifecycle request's are the flow's; the expiry job's are the
    # system's; the command line's (no actor) and those of users who are admins now are an
    # admin's (the cautious reading: only an admin lifts such a suspension); the rest were a
    # custodian's or seal admin's.
    conn = op.get_bind()
    conn.execute(sa.text(
        "UPDATE seal_transitions SET authority = 'flow' WHERE request_id IS NOT NULL"))
    conn.execute(sa.text(
        "UPDATE seal_transitions SET authority = 'system' WHERE authority IS NULL "
        "AND actor_id IS NULL AND to_status = 'expired'"))
    conn.execute(sa.text(
        "UPDATE seal_transitions SET authority = 'admin' WHERE authority IS NULL "
        "AND (actor_id IS NULL OR actor_id IN "
        "(SELECT user_id FROM user_roles WHERE role = 'admin'))"))
    conn.execute(sa.text(
        "UPDATE seal_transitions SET authority = 'manager' WHERE authority IS NULL"))
    with op.batch_alter_table('seal_transitions', schema=None) as batch_op:
        batch_op.alter_column('authority', existing_type=sa.String(length=20), nullable=False)


def downgrade():
    with op.batch_alter_table('seal_transitions', schema=None) as batch_op:
        batch_op.drop_column('authority')
