"""The audit chain keyed and anchored; on PostgreSQL its rows cannot be changed or deleted

audit_events gains the keyed layer: each event's HMAC-SHA256 over the MAC before it and its own
hash (mac), and the fingerprint of the key that made it (key_id). The events written so far keep
their unkeyed chain as it is (both NULL): the first keyed event chains on its head.
audit_anchors holds the chain's head timestamped by the TSA.

PostgreSQL: triggers refuse UPDATE and DELETE (and TRUNCATE) on both tables, whoever asks: the
application's role cannot rewrite the log. Dropping a trigger needs the table's owner, a role
the application should not run as (docs/operations.md, "A separate role for migrations").

Revision ID: 0025
Revises: 0030
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0030'
branch_labels = None
depends_on = None

TABLES = ('audit_events', 'audit_anchors')

REFUSE = """
CREATE OR REPLACE FUNCTION sealflow_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def upgrade():
    with op.batch_alter_table('audit_events') as batch:
        batch.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    op.create_table(
        'audit_anchors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=True),
        sa.Column('key_id', sa.String(length=16), nullable=True),
        sa.Column('token', sa.LargeBinary(), nullable=False),
        sa.Column('stamped_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_anchors_seq', 'audit_anchors', ['seq'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(REFUSE)
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION sealflow_audit_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION sealflow_audit_append_only()")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS sealflow_audit_append_only()")
    op.drop_index('ix_audit_anchors_seq', table_name='audit_anchors')
    op.drop_table('audit_anchors')
    with op.batch_alter_table('audit_events') as batch:
        batch.drop_column('key_id')
        batch.drop_column('mac')
