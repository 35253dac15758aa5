"""Re-checking the archive (``sealflow archive verify``): every filed document, one at a time,
read again from storage and judged as a court would. Each entry: both files present with the
bytes their SHA-256 names, the sealed file an incremental update of the approved one (the
sealed bytes begin with the approved bytes), and every signature in it valid against the
organisation's roots (processes/seals/verification.py, as the verify page judges a PDF).

The walk goes by request id, so an interrupted run resumes after the last id it reported."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processes import documents
from processes.archive_models import ArchiveEntry
from processes.env import Env
from processes.errors import SealflowError
from processes.seals import verification


@dataclass(frozen=True)
class Finding:
    request_id: int
    problems: list[str] = field(default_factory=list)


def count(session: Session, after: int = 0) -> int:
    """How many entries a run from ``after`` (a request id) will check."""
    return session.execute(select(func.count()).select_from(ArchiveEntry)
                           .where(ArchiveEntry.request_id > after)).scalar_one()


def entries(session: Session, after: int = 0, batch: int = 200) -> Iterator[tuple[int, str, str]]:
    """(request id, sealed SHA-256, original SHA-256) of each entry after ``after``, in
    request-id order, read a batch at a time (the caller holds a reading transaction)."""
    while True:
        rows = session.execute(
            select(ArchiveEntry.request_id, ArchiveEntry.sealed_sha256,
                   ArchiveEntry.document_sha256)
            .where(ArchiveEntry.request_id > after)
            .order_by(ArchiveEntry.request_id).limit(batch)).tuples().all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


def check(session: Session, env: Env, request_id: int, sealed_sha256: str,
          document_sha256: str) -> Finding:
    """What is wrong with one entry (no problems: it holds)."""
    sealed, problems = _read(env, sealed_sha256, "sealed")
    original, more = _read(env, document_sha256, "original")
    problems += more
    if sealed is not None and original is not None and not sealed.startswith(original):
        problems.append("the sealed file does not begin with the approved document's bytes")
    if sealed is not None:
        try:
            verdict = verification.verify(session, env, sealed)
        except SealflowError as exc:
            problems.append(f"the sealed file cannot be checked: {exc.message}")
        else:
            rows = verdict["signatures"]
            if not rows:
                problems.append("the sealed file carries no signature")
            problems += [f"signature {row['field']} does not hold" for row in rows
                         if not row["bottom_line"]]
    return Finding(request_id, problems)


def _read(env: Env, sha256: str, kind: str) -> tuple[bytes | None, list[str]]:
    path = documents.path_for(env, sha256)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [f"the {kind} file {path} is missing"]
    if hashlib.sha256(data).hexdigest() != sha256:
        return None, [f"the {kind} file {path} does not hold the bytes recorded"]
    return data, []
