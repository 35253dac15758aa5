"""The full-text index of each database, fed the terms of ``terms`` (never the database's
own word splitting).

SQLite: the FTS5 table ``archive_fts`` (migration 0026; contentless, its rowid the entry's
id), the terms written space-separated, which FTS5's unicode61 tokenizer reads back one by
one; a query is an FTS5 expression of quoted phrases. PostgreSQL: ``archive_entries.search``,
a tsvector written as its literal (each term with its positions, so no text search parser is
involved), GIN-indexed; a query is a tsquery literal whose phrases use ``<->``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Integer, Select, bindparam, cast, column, select, table, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from processes.archive.terms import Term
from processes.archive_models import ArchiveEntry

TABLE = "archive_fts"
"""The SQLite FTS5 table and, by prefix, the shadow tables FTS5 keeps beside it: not models
(``tests/app/test_migrations.py`` and alembic's env.py leave them out of the comparison)."""
MAX_POSITION = 16383  # PostgreSQL keeps positions up to this (a later one counts as it)
MAX_POSITIONS = 255  # ... and at most 256 per lexeme


def foreign_to_models(name: str) -> bool:
    """Whether a table of the database is the full-text index's own (not a model)."""
    return name == TABLE or name.startswith(TABLE + "_")


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(terms: Sequence[str]) -> str:
    """``'合同':2,9 '本合':1 ...``: each term with its positions (1-based)."""
    positions: dict[str, list[int]] = {}
    for n, term in enumerate(terms, start=1):
        places = positions.setdefault(term, [])
        if len(places) < MAX_POSITIONS:
            places.append(min(n, MAX_POSITION))
    return " ".join(f"{_quote(t)}:{','.join(map(str, sorted(set(p))))}"
                    for t, p in positions.items())


def index_value(session: Session, terms: Sequence[str]) -> str | None:
    """What goes in ``archive_entries.search`` (PostgreSQL; None on SQLite)."""
    return tsvector_literal(terms) if _postgres(session) and terms else None


def add(session: Session, entry_id: int, terms: Sequence[str]) -> None:
    """Index a new entry's terms (SQLite; on PostgreSQL the entry's row carries them)."""
    if not _postgres(session) and terms:
        session.execute(text(f"INSERT INTO {TABLE} (rowid, tokens) VALUES (:id, :tokens)"),
                        {"id": entry_id, "tokens": " ".join(terms)})


def fts5_query(terms: Sequence[Term]) -> str:
    """``"甲方 方签 签署" AND "章"*``: every term a phrase, all of them needed."""
    return " AND ".join('"' + " ".join(t.tokens) + '"' + ("*" if t.prefix else "")
                        for t in terms)


def tsquery_literal(terms: Sequence[Term]) -> str:
    """``('甲方' <-> '方签' <-> '签署') & '章':*``."""
    return " & ".join(
        "(" + " <-> ".join(_quote(tok) + (":*" if t.prefix else "") for tok in t.tokens) + ")"
        for t in terms)


_FTS = table(TABLE, column("rowid", Integer))


FEW_MATCHES = 2_000
"""PostgreSQL: below this many matches (the planner's estimate), the GIN index finds them."""


def _estimated_matches(session: Session, literal: str) -> float:
    """The planner's estimate of the entries a tsquery matches (from ANALYZE's statistics of
    the tsvectors' lexemes), read from EXPLAIN: no row is read."""
    plan = session.execute(text(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM archive_entries "
        "WHERE search @@ CAST(:q AS tsquery)"), {"q": literal}).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"])


def searched(session: Session, stmt: Select, terms: Sequence[Term], *,
             entries_first: bool = False) -> Select:
    """``stmt`` (entries, newest filed first) narrowed to those whose text holds every term.

    ``entries_first``: ``stmt`` names the few entries to search (a list of ids), which drive
    it: on SQLite each one's row of the FTS5 table is looked up, newest first, until the page
    is full (the index is not walked); PostgreSQL's planner reads the listed entries by their
    ids and tests each tsvector (a rare word: as below).

    SQLite: the FTS5 table drives the statement, read in descending rowid (the entry's id) and
    stopped at the page's end, so a word in half the archive costs what a rare one does; a
    statement the index fed with all its matches would sort tens of thousands (600 ms for
    合同 in 20,000 documents against 12 ms). PostgreSQL: the entries in order, each one's
    tsvector tested, when many match (the page fills early); the GIN index first when few do
    (:data:`FEW_MATCHES`, by the planner's own estimate)."""
    if _postgres(session):
        literal = tsquery_literal(terms)
        query = cast(bindparam("fts_query", literal), TSQUERY)
        if _estimated_matches(session, literal) >= FEW_MATCHES:
            return stmt.where(ArchiveEntry.search.op("@@")(query))
        # Few matches: found by the GIN index first. Left to itself the planner reads the
        # entries newest first and tests each one's text (it does not count the cost of
        # reading a tsvector): 3 s for a word in 50 of 100,000 documents, against 20 ms.
        matched = (select(ArchiveEntry.id).where(ArchiveEntry.search.op("@@")(query))
                   .cte("matched").prefix_with("MATERIALIZED"))
        return stmt.where(ArchiveEntry.id.in_(select(matched.c.id)))
    match = text(f"{TABLE} MATCH :fts_query").bindparams(fts_query=fts5_query(terms))
    if entries_first:  # one lookup of the index per entry (its rowid), in the entries' order
        return stmt.where(select(_FTS.c.rowid).where(_FTS.c.rowid == ArchiveEntry.id, match)
                          .exists())
    return (stmt.join(_FTS, _FTS.c.rowid == ArchiveEntry.id).where(match)
            .order_by(None).order_by(_FTS.c.rowid.desc()))
