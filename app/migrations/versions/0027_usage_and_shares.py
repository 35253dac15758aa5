"""the seal-usage log's timestamp time, and share links

requests.timestamped_at: the time in the seal's RFC 3161 timestamp, read from the sealed PDF at
sealing (None for requests sealed before). share_links: links to a sealed document's page, the
token and an optional password stored hashed.

Revision ID: 0027
Revises: 0026
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('requests') as batch:
        batch.add_column(sa.Column('timestamped_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'share_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_share_links_created_by_id_users')),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id'],
                                name=op.f('fk_share_links_request_id_requests'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'],
                                name=op.f('fk_share_links_revoked_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_share_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_share_links_token_hash')))
    op.create_index(op.f('ix_share_links_request_id'), 'share_links', ['request_id'])


def downgrade():
    op.drop_index(op.f('ix_share_links_request_id'), table_name='share_links')
    op.drop_table('share_links')
    with op.batch_alter_table('requests') as batch:
        batch.drop_column('timestamped_at')
