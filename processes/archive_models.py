"""The archive (processes/archive/): one row per sealed document, filed by a job after the
request is sealed (migration 0026).

The full-text index lives beside it: on PostgreSQL the ``search`` column (a ``tsvector`` of
the tokens ``processes.archive.terms`` makes, GIN-indexed); on SQLite an FTS5 table
``archive_fts`` (contentless, its rowid the entry's id), made by the migration and not a
model (``processes.archive.fts``). On SQLite ``search`` is an unused, always NULL column.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy import false as sa_false
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from processes.models import Base, utcnow

SEARCH_TYPE = Text().with_variant(TSVECTOR(), "postgresql")


class ArchiveEntry(Base):
    """A sealed document as filed: what a court or an auditor asks of it, its text, and how
    long it must be kept."""

    __tablename__ = "archive_entries"
    __table_args__ = (
        # Newest first: the archive's order.
        Index("ix_archive_entries_sealed_at", "sealed_at", "id"),
        Index("ix_archive_entries_search", "search", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One entry per request: filing twice (the job and the sweep) writes one.
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), unique=True)
    document_sha256: Mapped[str] = mapped_column(String(64))
    """The original, as approved."""
    sealed_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    """The sealed file (``documents/<sha[:2]>/<sha>.pdf``), checked when filed."""
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    """The request's purpose, else its file's name."""
    pages: Mapped[int] = mapped_column(Integer)
    seal_id: Mapped[int] = mapped_column(ForeignKey("seals.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    business_type: Mapped[str | None] = mapped_column(String(100), index=True)
    sealed_at: Mapped[datetime] = mapped_column()
    timestamp_at: Mapped[datetime | None] = mapped_column()
    """The RFC 3161 timestamp's time in the seal's signature; None for a B-B seal."""
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    searchable: Mapped[bool] = mapped_column(Boolean)
    retention_until: Mapped[date] = mapped_column(Date, index=True)
    """Kept at least until this day (the business type's years, or the default)."""
    retention_noticed_at: Mapped[datetime | None] = mapped_column()
    """When the admins were told the retention ended (once)."""
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    hold_reason: Mapped[str | None] = mapped_column(Text)
    hold_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    hold_at: Mapped[datetime | None] = mapped_column()
    # Last, so that on SQLite the columns a search filters on are read from a row's first page
    # without its text's overflow pages.
    search: Mapped[str | None] = mapped_column(SEARCH_TYPE, deferred=True)
    """PostgreSQL: the tokens as a tsvector (GIN-indexed); SQLite: unused (FTS5 table)."""
    text: Mapped[str | None] = mapped_column(Text, deferred=True)
    """The text extracted when filed (whitespace made single); None: unsearched (a scanned
    PDF without text: OCR is not done)."""


# What migration 0026 makes beside the table, made by ``create_all`` too (the tests' schema):
# the FTS5 table (SQLite) and the trigger that refuses to delete an entry under legal hold or
# within its retention, whatever path the DELETE takes.
_SQLITE = (
    "CREATE VIRTUAL TABLE archive_fts USING fts5("
    "tokens, content='', columnsize=0, tokenize='unicode61')",
    "CREATE TRIGGER archive_entries_kept BEFORE DELETE ON archive_entries "
    "WHEN OLD.legal_hold OR OLD.retention_until >= date('now') "
    "BEGIN SELECT RAISE(ABORT, 'archive entry under legal hold or retention: not deleted'); "
    "END",
)
_POSTGRES = (
    """CREATE FUNCTION archive_entries_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.legal_hold OR OLD.retention_until >= current_date THEN
    RAISE EXCEPTION 'archive entry % is under legal hold or kept until %: not deleted',
      OLD.id, OLD.retention_until USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN OLD;
END $$""",
    "CREATE TRIGGER archive_entries_kept BEFORE DELETE ON archive_entries "
    "FOR EACH ROW EXECUTE FUNCTION archive_entries_kept()",
)
for _statement in _SQLITE:
    event.listen(ArchiveEntry.__table__, "after_create",
                 DDL(_statement).execute_if(dialect="sqlite"))
for _statement in _POSTGRES:
    event.listen(ArchiveEntry.__table__, "after_create",
                 DDL(_statement.replace("%", "%%")).execute_if(dialect="postgresql"))
event.listen(ArchiveEntry.__table__, "after_drop",
             DDL("DROP TABLE IF EXISTS archive_fts").execute_if(dialect="sqlite"))
event.listen(ArchiveEntry.__table__, "after_drop",
             DDL("DROP FUNCTION IF EXISTS archive_entries_kept()").execute_if(
                 dialect="postgresql"))
