"""Content-addressed document storage: ``<data_dir>/documents/<sha[:2]>/<sha>.pdf``.

A file is written (to a temporary name, then renamed) before its row is committed; a rollback can
leave an unreferenced file behind, never a row without its file or a half-written file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from sqlalchemy import Integer, Table, bindparam, select, text
from sqlalchemy.orm import Session

import signer
from processes.env import Env
from processes.errors import InvalidContent, Message, NotFound, TooLarge, msg
from processes.models import Document, utcnow

logger = logging.getLogger(__name__)


def path_for(env: Env, sha256: str) -> Path:
    return env.data_dir / "documents" / sha256[:2] / f"{sha256}.pdf"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def inspect(env: Env, data: bytes) -> signer.PdfInfo:
    """Check an upload is a PDF we can seal; a clear 413/422 otherwise."""
    if len(data) > env.max_document_bytes:
        raise TooLarge(msg("the document is %(size)s bytes; the limit is %(limit)s bytes",
                           size=len(data), limit=env.max_document_bytes))
    try:
        return signer.inspect_pdf(data)
    except signer.InvalidDocument as exc:
        raise refusal(exc) from None


# Why the signer refused a PDF (signer.InvalidDocument.reason), as the sentence a person
# reads in their language; the signer's English detail goes to the log.
_PDF_PROBLEMS = {
    "not_pdf": msg("the file is not a PDF"),
    "encrypted": msg("the PDF is encrypted: remove its password, then upload it again"),
    "no_pages": msg("the PDF has no pages"),
    "too_complex": msg("the PDF is too complex to place a seal on"),
    "damaged": msg("the PDF is damaged and cannot be read"),
}


def pdf_problem(exc: signer.InvalidDocument) -> Message:
    """Why the signer refused a PDF, in words the app translates: a sentence per reason; the
    signer's own (English) detail only where it gave no reason."""
    said = _PDF_PROBLEMS.get(exc.reason or "")
    if said is not None:
        logger.info("PDF refused (%s): %s", exc.reason, exc)
        return said
    return msg("the PDF cannot be used: %(detail)s", detail=str(exc))


def signing_problem(exc: signer.SignerError) -> Message:
    """Why the signer could not seal a document, in words the app translates (another
    failure's English detail, a key's or a token's, as a value)."""
    if isinstance(exc, signer.HashMismatch):
        return msg("the document is not the approved document: expected SHA-256 %(expected)s, "
                   "got %(actual)s", expected=exc.expected, actual=exc.actual)
    return msg("signing failed: %(error)s", error=pdf_problem(exc)
               if isinstance(exc, signer.InvalidDocument) else str(exc))


def refusal(exc: signer.InvalidDocument, field: str = "document") -> InvalidContent:
    """A PDF the signer refused, as a 422 naming ``field``, in words the app translates."""
    said = pdf_problem(exc)
    return InvalidContent(said, [{"field": field, "message": said}])


def write(env: Env, data: bytes) -> str:
    """Write the file of ``data`` unless it is there; its SHA-256. Done before a writing
    transaction begins, it keeps the disk (and its fsync) out of the database's write lock;
    :func:`store` then finds the file written."""
    sha = hashlib.sha256(data).hexdigest()
    path = path_for(env, sha)
    if not path.exists():
        _write_atomic(path, data)
    return sha


_COLUMNS = cast(Table, Document.__table__).c
# Insert-if-absent, returning the new row's id (nothing when the row is there): written out,
# as SQLite and PostgreSQL both read it, because SQLAlchemy does not cache the compiled form
# of its dialects' ON CONFLICT inserts (each was compiled anew, inside the write lock).
_INSERT_NEW = text(
    "INSERT INTO documents (sha256, size, pages, page_refs, created_at) "
    "VALUES (:sha256, :size, :pages, :page_refs, :created_at) "
    "ON CONFLICT (sha256) DO NOTHING RETURNING id"
).bindparams(bindparam("page_refs", type_=_COLUMNS.page_refs.type),
             bindparam("created_at", type_=_COLUMNS.created_at.type)).columns(id=Integer)


def _insert_new(session: Session, sha256: str, size: int, pages: int,
                page_refs: Sequence[Sequence[int]]) -> int | None:
    return session.execute(_INSERT_NEW, {
        "sha256": sha256, "size": size, "pages": pages,
        "page_refs": [list(ref) for ref in page_refs] or None, "created_at": utcnow()}).scalar()


def stored(session: Session, data: bytes) -> Document | None:
    """The row of ``data``, when it is stored already (rows are never deleted)."""
    sha = hashlib.sha256(data).hexdigest()
    return session.execute(select(Document).where(Document.sha256 == sha)).scalar_one_or_none()


def store(session: Session, env: Env, data: bytes, pages: int | None = None,
          page_refs: Sequence[Sequence[int]] = ()) -> Document:
    """Store bytes and return their Document row (existing or new). ``pages`` and
    ``page_refs`` are what :func:`inspect` said of them, or of the document they are an
    incremental update of (same pages, same page objects); read from ``data`` if not given."""
    sha = hashlib.sha256(data).hexdigest()
    doc = session.execute(select(Document).where(Document.sha256 == sha)).scalar_one_or_none()
    path = path_for(env, sha)
    if not path.exists():
        _write_atomic(path, data)
    if doc is None:
        if pages is None:
            info = signer.inspect_pdf(data)
            pages, page_refs = info.pages, info.page_refs
        # Two requests may upload the same file at once: insert-if-absent, then read the row.
        _insert_new(session, sha, len(data), pages, page_refs)
        doc = session.execute(select(Document).where(Document.sha256 == sha)).scalar_one()
    return doc


def store_written(session: Session, sha256: str, size: int, pages: int,
                  page_refs: Sequence[Sequence[int]] = ()) -> int:
    """The id of the Document row of a file :func:`write` wrote (``sha256``, ``size`` bytes),
    inserted unless it is there: one INSERT ... RETURNING, as a writing transaction wants it
    (no hashing, no disk, no ORM object: the caller did those before its transaction)."""
    new = _insert_new(session, sha256, size, pages, page_refs)
    if new is not None:
        return new
    return session.execute(select(Document.id).where(Document.sha256 == sha256)).scalar_one()


def read(env: Env, doc: Document) -> bytes:
    path = path_for(env, doc.sha256)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(msg("the stored file of document %(sha256)s is missing",
                           sha256=doc.sha256)) from None
