"""Searching the archive: by seal, requester, business type, sealing dates, title, and the
document's full text (``terms``, ``fts``), newest filed first, among the documents the caller may
see (auditors and admins: all; anyone else: the requests they may see,
``processes.requests.visibility.sees_clause``, the one rule of who sees a request).

Who sees few documents (a requester, an approver of some) has them found first, through the
indexes of each way of seeing (``visibility.seen``), and only those are searched, newest first;
who sees many (a busy seal's custodian) is searched as an auditor is, each document found
tested for whether they may see it (a word in half the archive: the page fills early).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, bindparam, func, or_, select
from sqlalchemy.orm import Session, undefer

from processes.archive import fts, terms
from processes.archive.terms import Term
from processes.archive_models import ArchiveEntry
from processes.errors import BadInput, NotFound, msg
from processes.models import BusinessType, Seal, User
from processes.people.directory import Identity
from processes.requests import visibility

SNIPPET_BEFORE = 40
SNIPPET_AFTER = 80
FEW_SEEN = {"sqlite": 300, "postgresql": 3000}
"""Who may see at most this many documents has them found first, and the text of each
tested, newest first, until the page is full; who sees more, the archive's index walked and
each document found tested for whether they may see it. A word in few documents tests all
they see (SQLite: an FTS5 lookup of one row, 80-100 us, 300-500 for a phrase's positions;
PostgreSQL finds a rare word by its GIN index, and tests a tsvector in 12 us); a word in most,
found by walking the index, tests about 50 / (the share of the archive they see) documents
(SQLite 4-5 us each, PostgreSQL 25): the two balance near these at 100,000 documents
(bench/archive_search.py)."""


@dataclass(frozen=True)
class Filters:
    """What to look for; every one given must hold."""

    q: str = ""
    """Words and "phrases" of the document's text (and its title and file name)."""
    seal: int | None = None
    requester: str | None = None
    """A user name."""
    business_type: str | None = None
    """A business type's key."""
    sealed_from: datetime | None = None
    sealed_before: datetime | None = None
    title: str | None = None
    """Part of the title or the file's name, any case."""
    retention_ended: bool = False
    """Only the documents whose retention ended (today) and that are not under hold."""
    held: bool = False
    """Only the documents under legal hold."""


@dataclass
class Hit:
    """One archived document as a person (or a business system) reads it in a result."""

    entry: ArchiveEntry
    seal_name: str
    requester: str
    requester_display_name: str
    business_type_name: str | None
    snippet: str | None = None
    """Around the first match of the text (or its start), when a text search was made."""
    marks: list[tuple[int, int]] = field(default_factory=list)
    """Where the words searched for stand in the snippet: ``(start, end)`` offsets."""


@dataclass
class Page:
    hits: list[Hit]
    more: bool
    """Whether another page follows."""


def _like(text: str) -> str:
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%") \
        .replace("_", "\\_") + "%"


def search(session: Session, identity: Identity, filters: Filters, *, limit: int = 50,
           offset: int = 0, today: date | None = None) -> Page:
    """One page of the archived documents matching ``filters`` that the caller may see,
    newest filed first (the job files each document right after its sealing, so this is the
    order of sealing, but for one the sweep filed late): one statement (with the text of the
    page's documents, for their snippets, when the text was searched)."""
    wanted = terms.query_terms(filters.q) if filters.q else []
    stmt = (select(ArchiveEntry, Seal.name, User.name, User.display_name, BusinessType.name)
            .join(Seal, Seal.id == ArchiveEntry.seal_id)
            .join(User, User.id == ArchiveEntry.requester_id)
            .outerjoin(BusinessType, BusinessType.key == ArchiveEntry.business_type))
    seen = None if identity.has_role("auditor") else _few_seen(session, identity.user.id)
    if seen is not None:
        stmt = stmt.where(_among(session, seen))
    elif not identity.has_role("auditor"):
        stmt = stmt.where(visibility.sees_clause(identity.user.id, ArchiveEntry.request_id,
                                            ArchiveEntry.requester_id, ArchiveEntry.seal_id))
    stmt = stmt.order_by(ArchiveEntry.id.desc())  # newest filed first: filing follows sealing
    if wanted:
        stmt = fts.searched(session, stmt, wanted, entries_first=seen is not None
                            ).options(undefer(ArchiveEntry.text))
    if filters.seal is not None:
        stmt = stmt.where(ArchiveEntry.seal_id == filters.seal)
    if filters.requester:
        stmt = stmt.where(User.name == filters.requester)
    if filters.business_type:
        stmt = stmt.where(ArchiveEntry.business_type == filters.business_type)
    if filters.sealed_from is not None:
        stmt = stmt.where(ArchiveEntry.sealed_at >= filters.sealed_from)
    if filters.sealed_before is not None:
        stmt = stmt.where(ArchiveEntry.sealed_at < filters.sealed_before)
    if filters.title and filters.title.strip():
        pattern = _like(filters.title.strip())
        stmt = stmt.where(or_(func.lower(ArchiveEntry.title).like(pattern, escape="\\"),
                              func.lower(ArchiveEntry.filename).like(pattern, escape="\\")))
    if filters.retention_ended:
        stmt = stmt.where(ArchiveEntry.retention_until < (today or date.today()),
                          ArchiveEntry.legal_hold.is_(False))
    if filters.held:
        stmt = stmt.where(ArchiveEntry.legal_hold.is_(True))
    if (filters.sealed_from and filters.sealed_before
            and filters.sealed_from >= filters.sealed_before):
        raise BadInput(msg("the first day comes after the last"))
    rows = session.execute(stmt.limit(limit + 1).offset(offset)).all()
    hits = [Hit(entry, seal, name, display, btype)
            for entry, seal, name, display, btype in rows[:limit]]
    if wanted:
        for hit in hits:
            hit.snippet, hit.marks = snippet(hit.entry.text, wanted)
    return Page(hits, more=len(rows) > limit)


_SEEN = visibility.seen_statements(ArchiveEntry.id, ArchiveEntry.request_id,
                              ArchiveEntry.requester_id, ArchiveEntry.seal_id)


def _few_seen(session: Session, user_id: int) -> list[int] | None:
    """The entries the user may see, when at most :data:`FEW_SEEN` (None: more)."""
    return visibility.seen(session, _SEEN, user_id, most=FEW_SEEN[session.get_bind().dialect.name])


def _among(session: Session, ids: list[int]) -> ColumnElement[bool]:
    """The entry is one of ``ids``: on PostgreSQL one array (3,000 values bound one by one
    took the driver 30 ms), on SQLite a list."""
    if session.get_bind().dialect.name == "postgresql":
        return ArchiveEntry.id == any_(bindparam("seen", ids, type_=ARRAY(Integer)))
    return ArchiveEntry.id.in_(ids)


def entry_of(session: Session, identity: Identity, request_id: int) -> ArchiveEntry:
    """A request's archived document, for one who may see the request."""
    entry = session.execute(select(ArchiveEntry).where(ArchiveEntry.request_id == request_id)
                            ).scalar_one_or_none()
    if entry is not None and not identity.has_role("auditor"):
        seen = session.execute(select(visibility.sees_clause(
            identity.user.id, entry.request_id, entry.requester_id, entry.seal_id))).scalar()
        entry = entry if seen else None
    if entry is None:
        raise NotFound(msg("request %(request_id)s is not in the archive",
                           request_id=request_id))
    return entry


def snippet(text: str | None, terms: list[Term]) -> tuple[str | None, list[tuple[int, int]]]:
    """A piece of ``text`` around the first term found in it, and where each term found
    stands in that piece (as written in the query, any case)."""
    if not text:
        return None, []
    folded = text.lower()
    words = [t.text.lower() for t in terms if t.text.strip()]
    found = [i for i in (folded.find(w) for w in words) if i >= 0]
    first = min(found) if found else 0
    start = max(0, first - SNIPPET_BEFORE)
    end = min(len(text), first + SNIPPET_AFTER)
    piece, low = text[start:end], folded[start:end]
    marks: list[tuple[int, int]] = []
    for word in words:
        at = low.find(word)
        while at >= 0 and word:
            marks.append((at, at + len(word)))
            at = low.find(word, at + len(word))
    marks = _merged(sorted(marks))
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix)
    return prefix + piece + suffix, [(a + shift, b + shift) for a, b in marks]


def _merged(marks: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in marks:
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
