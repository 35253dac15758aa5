"""The tamper-evident log: each event's hash covers its content and the previous event's hash.

Appenders are serialised by the chain's lock: on SQLite every writer holds the database's write
lock from its BEGIN IMMEDIATE; on PostgreSQL a writer takes the chain's advisory lock
(:data:`processes.db.CHAIN_LOCK`) only at its commit, after the ORM's flush, so that it is the
last lock the transaction takes (no two writers can wait for each other across it) and is held
for one INSERT and the COMMIT only, sent with the INSERT (:mod:`processes.audit_pg`). Writers on
different requests run side by side until then.

Two layers (docs/design.md, "The audit log"): the SHA-256 chain, public (anyone holding the
hashes can check it), and over it an HMAC-SHA256 chain, ``mac = HMAC(key, prev_mac || hash)``,
whose key (``SEALFLOW_AUDIT_KEY``, :mod:`processes.audit_keys`) is never in the database, so
that whoever can write the database cannot recompute it. Each event names its key's
fingerprint, so the key can be rotated. After each commit that appended, the head (last seq,
hash, MAC) is written, keyed, to a file outside the database (:mod:`processes.audit_head`)."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, func, insert, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState, Session

from processes import audit_head, audit_keys, audit_pg
from processes.audit_keys import GENESIS, chain_mac
from processes.audit_models import AuditAnchor  # noqa: F401 - its table beside the events
from processes.db import is_writer, transaction_cache
from processes.models import AuditEvent, User, utcnow

__all__ = ["GENESIS", "HEAD", "content_digest", "digest", "link", "pending", "record",
           "remember_head", "write_pending"]

# The head as one text, "hash:mac:seq" (no MAC before the keys: the old events).
_HEAD = select(AuditEvent.hash + ":" + func.coalesce(AuditEvent.mac, "") + ":"
               + func.cast(AuditEvent.seq, String)) \
    .order_by(AuditEvent.seq.desc()).limit(1)
HEAD = _HEAD.scalar_subquery()
"""The chain's head as a column: read along with a lock the transaction takes anyway (SQLite;
see ``remember_head``)."""
# The head this transaction appended last (the chain's lock is held to the end of it).
_HEAD_KEY = transaction_cache("sealflow_audit_head")
# Events recorded and not yet written: chained and written in one INSERT at the next flush
# (SQLite) or at the commit (PostgreSQL).
_PENDING_KEY = transaction_cache("sealflow_audit_pending")
_TABLE = cast(Table, AuditEvent.__table__)
# Plain rows, no ORM objects, each numbered here: the head's number + 1 (the head is read
# under the chain's lock), so the numbers follow the chain without a gap. PostgreSQL: one
# statement with the lock (processes/audit_pg.py); SQLite: the INSERT compiled once per
# dialect and sent as the driver's executemany of tuples, the columns' own bind processors
# applied here (SQLAlchemy's per-row parameter handling was a sixth of the chain's cost).
_INSERT = insert(_TABLE)
_ORDER = ("seq", "at", "actor_id", "actor", "action", "request_id", "seal_id", "details",
          "prev_hash", "hash", "mac", "key_id")
_inserts: weakref.WeakKeyDictionary[Any, tuple[str, list[tuple[str, Any]]]] = \
    weakref.WeakKeyDictionary()


def _insert(session: Session, dialect: Any, rows: list[dict[str, Any]]) -> None:
    """``rows`` in one executemany (through SQLAlchemy's connection: its events and errors)."""
    found = _inserts.get(dialect)
    if found is None:
        compiled = _INSERT.compile(dialect=dialect, column_keys=list(_ORDER))
        names = compiled.positiontup or []
        if compiled.positional and sorted(names) == sorted(_ORDER):
            found = _inserts[dialect] = (compiled.string, [
                (name, _TABLE.c[name].type.bind_processor(dialect)) for name in names])
    if found is None:  # a named paramstyle: the ordinary way
        session.connection().execute(_INSERT, rows)
        return
    sql, columns = found
    session.connection().exec_driver_sql(sql, [
        tuple(row[name] if process is None else process(row[name]) for name, process in columns)
        for row in rows])
# The head this transaction wrote last, for the head file once it commits.
_APPENDED = "sealflow_audit_appended"


# The events' canonical JSON (json.dumps would build an encoder per call; JSONEncoder.encode
# builds its C encoder per call too: built once here, and checked against it at import).
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _c_encoder() -> Callable[[Any], str]:
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:
        return _JSON.encode
    try:
        # As JSONEncoder.iterencode builds it (no check for circular values: none are).
        found = make(None, str, encoder.encode_basestring, None, ":", ",", True, False, True)
        sample = ["2026-12-06T00:00:00+00:00", "张三", "a.b", 1, None,
                  {"b": [1.5, True, "\u0000\"é"], "a": {"z": None, "y": 2}}]
        if "".join(found(sample, 0)) == _JSON.encode(sample):
            return lambda value: "".join(found(value, 0))
    except TypeError:  # another signature
        pass
    return _JSON.encode


_canonical = _c_encoder()


def content_digest(at: datetime, actor: str | None, action: str, request_id: int | None,
                   seal_id: int | None, details: dict[str, Any]) -> str:
    """An event's content, hashed (SHA-256 of its canonical JSON): what a proof shows of an
    event it does not disclose."""
    body = _canonical([at.isoformat(), actor, action, request_id, seal_id, details])
    return hashlib.sha256(body.encode()).hexdigest()


def link(prev_hash: str, content: str) -> str:
    """A keyed event's hash: SHA-256 over the hash before it and its content's digest, so a
    run of events can be checked holding only the digests of the events it does not show."""
    return hashlib.sha256((prev_hash + content).encode("ascii")).hexdigest()


def digest(prev_hash: str, at: datetime, actor: str | None, action: str,
           request_id: int | None, seal_id: int | None, details: dict[str, Any], *,
           keyed: bool = True) -> str:
    """An event's hash: for a keyed event (it names its key), :func:`link` over its
    :func:`content_digest`; for the unkeyed events written before the keys (migration 0025),
    as they were: one SHA-256 over the previous hash and the content."""
    if keyed:
        return link(prev_hash, content_digest(at, actor, action, request_id, seal_id, details))
    body = json.dumps([prev_hash, at.isoformat(), actor, action, request_id, seal_id, details],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def remember_head(session: Session, head: str | None) -> None:
    """The chain's head as a writing transaction read it (``HEAD`` beside the request's lock),
    so that the events need not read it again. SQLite only, and only a writer's: it holds the
    write lock from its BEGIN IMMEDIATE. A PostgreSQL writer takes the chain's lock at its
    commit, so a head it read before could be overtaken; a reader's could too."""
    if is_writer() and _HEAD_KEY not in session.info and not _at_commit_only(session):
        session.info[_HEAD_KEY] = head or _NO_HEAD


def _head(session: Session) -> str:
    """SQLite: the last event's hash (writers hold the database's lock already), unless this
    transaction read it (``remember_head``) or appended already."""
    cached = session.info.get(_HEAD_KEY)
    if cached is not None:
        return cached
    with session.no_autoflush:  # reading the head needs none of the pending writes
        # The driver's own cursor, in the transaction SQLAlchemy began (a third of a commit's
        # time went to building and reading this one row otherwise).
        raw = session.connection().connection.driver_connection
        found = raw.execute(_HEAD_SQL).fetchone() if raw is not None else None
    return (found[0] if found else None) or _NO_HEAD


_NO_HEAD = f"{GENESIS}::0"
_HEAD_SQL = ("SELECT hash || ':' || coalesce(mac, '') || ':' || seq FROM audit_events "
             "ORDER BY seq DESC LIMIT 1")


def _chain(rows: list[dict[str, Any]], head: str, key: bytes | None, key_id: str | None,
           contents: list[str]) -> str:
    """Number and chain ``rows`` after ``head`` ("hash:mac:seq"); the new head. ``contents``:
    their :func:`content_digest`, for keyed events (they do not depend on the head)."""
    prev, prev_mac, last_text = head.split(":")
    prev_mac, last = prev_mac or GENESIS, int(last_text)
    for i, row in enumerate(rows):
        row["prev_hash"] = prev
        if key is not None:
            row["hash"] = prev = link(prev, contents[i])
            row["mac"] = prev_mac = chain_mac(key, prev_mac, prev)
        else:
            row["hash"] = prev = digest(prev, row["at"], row["actor"], row["action"],
                                        row["request_id"], row["seal_id"], row["details"],
                                        keyed=False)
            row["mac"] = None
        row["key_id"] = key_id
        row["seq"] = last = last + 1
    return f"{prev}:{prev_mac if key is not None else ''}:{last}"


def _append_postgresql(session: Session, bind: Any, rows: list[dict[str, Any]],
                       key: bytes | None, key_id: str | None, contents: list[str]) -> str:
    """The chain's lock and the rows in one round trip, chained from the head this process
    appended last (:mod:`processes.audit_pg`); again from the head found if another process
    appended since. Anything unexpected (no psycopg): the lock, the head, the rows, each sent
    the ordinary way. The new head."""
    from psycopg.pq import TransactionStatus

    held = session.info.get(_HEAD_KEY)  # appended already: the lock is held, the head known
    connection = session.connection()
    pgconn = getattr(connection.connection.driver_connection, "pgconn", None)
    status = pgconn.transaction_status if pgconn is not None else None
    if status not in (TransactionStatus.IDLE, TransactionStatus.INTRANS):
        if held is None:
            session.execute(text(audit_pg.LOCK))
        head = _chain(rows, held or session.execute(_HEAD).scalar() or _NO_HEAD, key, key_id,
                      contents)
        connection.execute(_INSERT, rows)
        return head
    head = _chain(rows, held or audit_pg.guess(bind) or _NO_HEAD, key, key_id, contents)
    lock = "" if held else f"{audit_pg.LOCK}; "
    found, written = audit_pg.send(connection, lock + audit_pg.statement(
        pgconn, rows, rows[0]["prev_hash"]))
    if written == len(rows):
        return head
    # Another process appended since: nothing was written, and the head found is the chain's
    # (the lock is held).
    head = _chain(rows, found or _NO_HEAD, key, key_id, contents)
    found, written = audit_pg.send(connection, audit_pg.statement(pgconn, rows,
                                                                  rows[0]["prev_hash"]))
    if written != len(rows):
        raise RuntimeError(f"the audit chain's head moved under its lock (found {found})")
    return head


def record(session: Session, action: str, *, actor: User | None = None,
           request_id: int | None = None, seal_id: int | None = None,
           **details: Any) -> None:
    """Append one event to the log (in the caller's transaction). It is chained and written
    with the transaction's other events in one INSERT when the ORM would autoflush (SQLite) or
    at the commit (PostgreSQL: the chain's lock is taken then, after every row lock of the
    transaction, and held only for that INSERT and the commit)."""
    actor_name = actor.name if actor is not None else None
    session.info.setdefault(_PENDING_KEY, []).append({
        "at": utcnow(), "actor_id": actor.id if actor is not None else None,
        "actor": actor_name, "action": action, "request_id": request_id, "seal_id": seal_id,
        "details": details})


def pending(session: Session) -> list[dict[str, Any]]:
    """The events this transaction recorded and has not written yet (on PostgreSQL, all of
    them until the commit): a check "was this recorded already?" looks here too."""
    return list(session.info.get(_PENDING_KEY, ()))


def write_pending(session: Session, *_args: Any) -> None:
    """Chain and write the events recorded since the last write (one INSERT; in order): each
    event's hash over the one before it and, with a key for this database, its MAC over the
    MAC before it (the first keyed event over :data:`GENESIS`: the old unkeyed events are
    covered by its hash)."""
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    bind = session.get_bind()
    ring = audit_keys.for_bind(bind)
    key, key_id = (ring.key, ring.key_id) if ring is not None else (None, None)
    contents = [content_digest(row["at"], row["actor"], row["action"], row["request_id"],
                               row["seal_id"], row["details"]) for row in pending] \
        if key is not None else []
    if bind.dialect.name == "postgresql":
        head = _append_postgresql(session, bind, pending, key, key_id, contents)
    else:
        head = _chain(pending, _head(session), key, key_id, contents)
        _insert(session, bind.dialect, pending)
    session.info[_HEAD_KEY] = head
    session.info[_APPENDED] = (bind, ring, head)


def _before_query(state: ORMExecuteState) -> None:
    """Like the ORM's autoflush: a query sees the events recorded before it (a check "was this
    warned already?" in the same transaction), unless autoflush is off for it. Not on
    PostgreSQL, where the events wait for the commit (see ``record``)."""
    if state.session.autoflush and _PENDING_KEY in state.session.info \
            and not _at_commit_only(state.session):
        write_pending(state.session)


def _before_flush(session: Session, *_args: Any) -> None:
    if _PENDING_KEY in session.info and not _at_commit_only(session):
        write_pending(session)


def _before_commit(session: Session) -> None:
    if _PENDING_KEY not in session.info:
        return
    if _at_commit_only(session):
        # The ORM's own writes first: every row lock of the transaction is taken before the
        # chain's lock, so no two writers can wait for each other across it.
        session.flush()
    write_pending(session)


def _at_commit_only(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _drop_pending(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING_KEY, None)
    session.info.pop(_APPENDED, None)


def _after_commit(session: Session) -> None:
    """The head file follows each commit that appended (outside the database: a cut from the
    end of the log is found against it); on PostgreSQL the next append starts from it."""
    appended = session.info.pop(_APPENDED, None)
    if appended is None:
        return
    bind, ring, head = appended
    head_hash, mac, seq = head.split(":")
    if bind.dialect.name == "postgresql":
        audit_pg.remember(bind, int(seq), head)
    if ring is not None and ring.head_file is not None:
        audit_head.write(ring, int(seq), head_hash, mac or None)


# Every session: the events go out before the next query that autoflushes, before the ORM's
# own writes of a flush, and at a commit with nothing else to flush; a rollback drops them.
sa_event.listen(Session, "do_orm_execute", _before_query)
sa_event.listen(Session, "before_flush", _before_flush)
sa_event.listen(Session, "before_commit", _before_commit)
sa_event.listen(Session, "after_rollback", _drop_pending)
sa_event.listen(Session, "after_commit", _after_commit)
