"""Filing a sealed document in the archive: a job after ``sealed`` (app/archive_jobs.py),
never on the sealing path, in three steps whose transactions the job owns: find what is
unfiled (:func:`unfiled`), read the sealed file and its text with no transaction open
(:func:`read`), then write the entry and its index in one (:func:`record`).

Crash safety: the sealed file is written and committed by sealing before anything is filed;
filing checks the file is there with the SHA-256 recorded before it writes the entry, so no
entry is without its file; the entry is unique per request and per sealed file and written
insert-if-absent, so the job and the sweep filing the same request write one; a crash before
the commit leaves nothing, and the sweep files the request again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session, aliased

import signer
from processes import audit, documents
from processes.archive import fts, terms
from processes.archive import text as pdf_text
from processes.archive_models import ArchiveEntry
from processes.env import Env
from processes.models import BusinessType, Document, Request, RequestStatus, utcnow

logger = logging.getLogger(__name__)


class FileMissing(Exception):
    """The sealed file is not where its SHA-256 says, or holds other bytes: not filed (the
    sweep tries again; an operator should look)."""


@dataclass(frozen=True)
class Source:
    """What the archive copies from a sealed request."""

    request_id: int
    sealed_sha256: str
    document_sha256: str
    size: int
    pages: int
    filename: str
    title: str
    seal_id: int
    requester_id: int
    business_type: str | None
    sealed_at: datetime
    retention_years: int | None
    timestamped_at: datetime | None = None
    """The seal's timestamp time as sealing recorded it (None: sealed at B-B, or before it was
    recorded: then read from the file)."""


@dataclass(frozen=True)
class Filing:
    """A source with what its file says: the text (None: a PDF without text) and its terms,
    and the timestamp's time."""

    source: Source
    text: str | None
    terms: list[str]
    timestamp_at: datetime | None


_Sealed = aliased(Document)
_Original = aliased(Document)
_UNFILED = (
    select(Request.id, _Sealed.sha256, _Original.sha256, _Sealed.size, _Sealed.pages,
           Request.filename, Request.data["purpose"].as_string(), Request.seal_id,
           Request.requester_id, Request.business_type, Request.sealed_at,
           BusinessType.retention_years, Request.timestamped_at)
    .join(_Sealed, _Sealed.id == Request.sealed_document_id)
    .join(_Original, _Original.id == Request.document_id)
    .outerjoin(BusinessType, BusinessType.key == Request.business_type)
    .outerjoin(ArchiveEntry, ArchiveEntry.request_id == Request.id)
    .where(Request.status == RequestStatus.sealed, ArchiveEntry.id.is_(None))
    .order_by(Request.id))


def unfiled(session: Session, *, request_id: int | None = None, limit: int = 200,
            sealed_before: datetime | None = None) -> list[Source]:
    """Sealed requests not in the archive yet (``request_id``: only that one; ``sealed_before``:
    only those sealed before then), oldest first."""
    stmt = _UNFILED if request_id is None else _UNFILED.where(Request.id == request_id)
    if sealed_before is not None:
        stmt = stmt.where(Request.sealed_at < sealed_before)
    rows = session.execute(stmt.limit(limit)).all()
    return [Source(rid, sealed, original, size, pages, filename,
                   (purpose or "").strip()[:300] or filename, seal_id, requester_id, btype,
                   sealed_at, years, stamped)
            for (rid, sealed, original, size, pages, filename, purpose, seal_id, requester_id,
                 btype, sealed_at, years, stamped) in rows]


def _stored(env: Env, sha256: str) -> Path:
    """Where the file of ``sha256`` is, once its bytes are checked against it."""
    path = documents.path_for(env, sha256)
    try:
        with path.open("rb") as fh:
            found = hashlib.file_digest(fh, "sha256").hexdigest()
    except FileNotFoundError:
        raise FileMissing(f"the file {path} is missing") from None
    if found != sha256:
        raise FileMissing(f"the file {path} does not hold the bytes recorded")
    return path


def read(env: Env, source: Source) -> Filing:
    """The sealed file and the original, each checked against its SHA-256, and the text
    (no transaction needed). The text is the original's: the sealed file is the same bytes
    with the seal appended, whose stamp would add its own words (合同专用章) to every
    document's text.

    :raises FileMissing: a file is missing or changed.
    :raises processes.archive.text.TextUnavailable: pdftotext could not be run.
    """
    sealed = _stored(env, source.sealed_sha256)
    raw = pdf_text.extract(_stored(env, source.document_sha256))
    cleaned = terms.clean(raw)
    found = terms.tokens(cleaned)
    try:
        stamped = source.timestamped_at or signer.timestamp_time(sealed.read_bytes())
    except signer.InvalidDocument as exc:  # sealed by us: worth a look, not a lost filing
        logger.warning("request %d: the seal's timestamp cannot be read: %s",
                       source.request_id, exc)
        stamped = None
    return Filing(source, cleaned if found else None, found, stamped)


def retention_end(sealed_at: datetime, years: int) -> date:
    """The day ``years`` after the sealing (29 February: the 28th in a common year)."""
    day = sealed_at.date()
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


_COLUMNS = ("request_id", "document_sha256", "sealed_sha256", "size", "filename", "title",
            "pages", "seal_id", "requester_id", "business_type", "sealed_at", "timestamp_at",
            "filed_at", "text", "searchable", "retention_until", "legal_hold", "search")
_TYPES = {c: ArchiveEntry.__table__.c[c].type for c in _COLUMNS if c != "search"}


def _insert(postgres: bool):
    value = "CAST(:search AS tsvector)" if postgres else ":search"
    names = ", ".join(_COLUMNS)
    values = ", ".join(f":{c}" for c in _COLUMNS[:-1]) + ", " + value
    # Insert-if-absent (request and sealed file are unique), written out as both databases
    # read it; nothing comes back when the entry is there already.
    return (text(f"INSERT INTO archive_entries ({names}) VALUES ({values}) "
                 "ON CONFLICT DO NOTHING RETURNING id")
            .bindparams(*(bindparam(c, type_=t) for c, t in _TYPES.items()))
            .columns(id=ArchiveEntry.id.type))


_INSERTS = {True: _insert(True), False: _insert(False)}


def record(session: Session, env: Env, filing: Filing) -> int | None:
    """Write the entry and index its text; its id, or None when it was filed already."""
    src = filing.source
    postgres = session.get_bind().dialect.name == "postgresql"
    years = src.retention_years or env.retention_years
    entry_id = session.execute(_INSERTS[postgres], {
        "request_id": src.request_id, "document_sha256": src.document_sha256,
        "sealed_sha256": src.sealed_sha256, "size": src.size, "filename": src.filename,
        "title": src.title, "pages": src.pages, "seal_id": src.seal_id,
        "requester_id": src.requester_id, "business_type": src.business_type,
        "sealed_at": src.sealed_at, "timestamp_at": filing.timestamp_at, "filed_at": utcnow(),
        "text": filing.text, "searchable": filing.text is not None,
        "retention_until": retention_end(src.sealed_at, years), "legal_hold": False,
        "search": fts.index_value(session, filing.terms)}).scalar()
    if entry_id is None:
        return None
    fts.add(session, entry_id, filing.terms)
    audit.record(session, "request.filed", request_id=src.request_id, seal_id=src.seal_id,
                 sealed_sha256=src.sealed_sha256, searchable=filing.text is not None)
    logger.info("request %d filed in the archive (entry %d, %s)", src.request_id, entry_id,
                "searchable" if filing.text is not None else "unsearched")
    return entry_id
