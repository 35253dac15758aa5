"""out_of_office, users.email, tasks.deputies, notices' mail columns

A user away names a deputy for a range of time (out_of_office); tasks created for them then go
to the deputy, recorded on the task (tasks.deputies). Notices are also e-mailed, after the
commit, to users with an address (users.email); a failed send is tried again by the scheduler
(notices.mail_to, mailed_at, mail_tries, mail_next_at, mail_error).

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'out_of_office',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deputy_id', sa.Integer(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_out_of_office_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['deputy_id'], ['users.id'],
                                name=op.f('fk_out_of_office_deputy_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'],
                                name=op.f('fk_out_of_office_set_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_out_of_office')),
    )
    op.create_index(op.f('ix_out_of_office_deputy_id'), 'out_of_office', ['deputy_id'],
                    unique=False)
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('tasks') as batch:
        batch.add_column(sa.Column('deputies', sa.JSON(), nullable=True))
    with op.batch_alter_table('notices') as batch:
        batch.add_column(sa.Column('mail_to', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('mail_tries', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('mail_next_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('mail_error', sa.Text(), nullable=True))
    op.create_index('ix_notices_mail_next_at', 'notices', ['mail_next_at'], unique=False)


def downgrade():
    op.drop_index('ix_notices_mail_next_at', table_name='notices')
    with op.batch_alter_table('notices') as batch:
        for column in ('mail_error', 'mail_next_at', 'mail_tries', 'mailed_at', 'mail_to'):
            batch.drop_column(column)
    with op.batch_alter_table('tasks') as batch:
        batch.drop_column('deputies')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('email')
    op.drop_index(op.f('ix_out_of_office_deputy_id'), table_name='out_of_office')
    op.drop_table('out_of_office')
