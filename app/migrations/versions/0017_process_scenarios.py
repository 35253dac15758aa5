"""process_scenarios: dry runs saved with a flow's key, re-run at every validate and deploy

A scenario holds the dry run's input, and the route and end it reached when saved, so that a
change to the flow that takes it elsewhere is shown before it is deployed.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'process_scenarios',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('inputs', sa.JSON(), nullable=False),
        sa.Column('route', sa.JSON(), nullable=False),
        sa.Column('end', sa.JSON(), nullable=True),
        sa.Column('saved_by_id', sa.Integer(), nullable=True),
        sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['saved_by_id'], ['users.id'],
                                name=op.f('fk_process_scenarios_saved_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_process_scenarios')),
        sa.UniqueConstraint('process_key', 'name',
                            name=op.f('uq_process_scenarios_process_key_name')),
    )


def downgrade():
    op.drop_table('process_scenarios')
