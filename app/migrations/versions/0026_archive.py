"""archive_entries: every sealed document filed, with its text indexed for Chinese search

One row per sealed request (filed by a job after sealing; the sweep files those a crash left
unfiled, so existing sealed requests are filed by the first sweep after this upgrade). The
text's tokens (character bigrams of Chinese runs, whole Latin and digit words:
processes/archive/terms.py) are indexed in an FTS5 table on SQLite (archive_fts, contentless,
rowid = the entry's id) and in a GIN-indexed tsvector column on PostgreSQL (search), so that
neither database's own word splitting decides what Chinese is found.

A trigger refuses to delete an entry under legal hold or whose retention has not ended,
whatever path the DELETE comes by. business_types.retention_years: the years the archive
keeps a type's documents (NULL: SEALFLOW_RETENTION_YEARS).

Revision ID: 0026
Revises: 0028
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0026'
down_revision = '0028'
branch_labels = None
depends_on = None

_PG_KEPT = """
CREATE FUNCTION archive_entries_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.legal_hold OR OLD.retention_until >= current_date THEN
    RAISE EXCEPTION 'archive entry % is under legal hold or kept until %: not deleted',
      OLD.id, OLD.retention_until USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN OLD;
END $$
"""
_SQLITE_KEPT = """
CREATE TRIGGER archive_entries_kept BEFORE DELETE ON archive_entries
WHEN OLD.legal_hold OR OLD.retention_until >= date('now')
BEGIN SELECT RAISE(ABORT, 'archive entry under legal hold or retention: not deleted'); END
"""


def upgrade():
    pg = op.get_bind().dialect.name == 'postgresql'
    op.add_column('business_types', sa.Column('retention_years', sa.Integer(), nullable=True))
    op.create_table(
        'archive_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('document_sha256', sa.String(length=64), nullable=False),
        sa.Column('sealed_sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('filename', sa.String(length=300), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('seal_id', sa.Integer(), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=False),
        sa.Column('business_type', sa.String(length=100), nullable=True),
        sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('timestamp_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('searchable', sa.Boolean(), nullable=False),
        sa.Column('retention_until', sa.Date(), nullable=False),
        sa.Column('retention_noticed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('hold_reason', sa.Text(), nullable=True),
        sa.Column('hold_by_id', sa.Integer(), nullable=True),
        sa.Column('hold_at', sa.DateTime(timezone=True), nullable=True),
        # Last: SQLite reads the columns before the text without its overflow pages.
        sa.Column('search', postgresql.TSVECTOR() if pg else sa.Text(), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id'],
                                name=op.f('fk_archive_entries_request_id_requests')),
        sa.ForeignKeyConstraint(['seal_id'], ['seals.id'],
                                name=op.f('fk_archive_entries_seal_id_seals')),
        sa.ForeignKeyConstraint(['requester_id'], ['users.id'],
                                name=op.f('fk_archive_entries_requester_id_users')),
        sa.ForeignKeyConstraint(['hold_by_id'], ['users.id'],
                                name=op.f('fk_archive_entries_hold_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_entries')),
        sa.UniqueConstraint('request_id', name=op.f('uq_archive_entries_request_id')),
        sa.UniqueConstraint('sealed_sha256', name=op.f('uq_archive_entries_sealed_sha256')),
    )
    op.create_index('ix_archive_entries_sealed_at', 'archive_entries', ['sealed_at', 'id'])
    for column in ('seal_id', 'requester_id', 'business_type', 'retention_until'):
        op.create_index(f'ix_archive_entries_{column}', 'archive_entries', [column])
    op.create_index('ix_archive_entries_search', 'archive_entries', ['search'],
                    postgresql_using='gin')
    if pg:
        op.execute(_PG_KEPT)
        op.execute('CREATE TRIGGER archive_entries_kept BEFORE DELETE ON archive_entries '
                   'FOR EACH ROW EXECUTE FUNCTION archive_entries_kept()')
    else:
        # Contentless (the text is archive_entries.text), no column sizes (no ranking):
        # only the index and each token's positions (phrases).
        op.execute("CREATE VIRTUAL TABLE archive_fts USING fts5("
                   "tokens, content='', columnsize=0, tokenize='unicode61')")
        op.execute(_SQLITE_KEPT)


def downgrade():
    pg = op.get_bind().dialect.name == 'postgresql'
    if pg:
        op.execute('DROP TRIGGER archive_entries_kept ON archive_entries')
        op.execute('DROP FUNCTION archive_entries_kept()')
    else:
        op.execute('DROP TRIGGER archive_entries_kept')
        op.execute('DROP TABLE archive_fts')
    op.drop_table('archive_entries')
    op.drop_column('business_types', 'retention_years')
