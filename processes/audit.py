"""The tamper-evident log: each event's hash covers its content and the previous event's hash.

Appenders are serialised by the chain's lock: on SQLite every writer holds the database's write
lock from its BEGIN IMMEDIATE; on PostgreSQL a writer takes the chain's advisory lock
(:data:`processes.db.CHAIN_LOCK`) only at its commit, after the ORM's flush, so that it is the
last lock the transaction takes (no two writers can wait for each other across it) and is held
for the chain's head, one INSERT and the COMMIT only. Writers on different requests run side by
side until then.

Two layers (docs/design.md, "The audit log"): the SHA-256 chain, public (anyone holding the
hashes can check it), and over it an HMAC-SHA256 chain, ``mac = HMAC(key, prev_mac || hash)``,
whose key (``SEALFLOW_AUDIT_KEY``, :mod:`processes.audit_keys`) is never in the database, so
that whoever can write the database cannot recompute it. Each event names its key's
fingerprint, so the key can be rotated. After each commit that appended, the head (last seq,
hash, MAC) is written, keyed, to a file outside the database (:mod:`processes.audit_head`)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, func, insert, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import ORMExecuteState, Session

from processes import audit_head, audit_keys
from processes.audit_keys import GENESIS, chain_mac
from processes.audit_models import AuditAnchor  # noqa: F401 - its table beside the events
from processes.db import CHAIN_LOCK, is_writer, transaction_cache
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
# Core: plain rows, no ORM objects, each numbered here: the head's number + 1 (the head is read
# under the chain's lock), so the numbers follow the chain without a gap, and on PostgreSQL
# the rows go as one pipelined executemany of a prepared statement (with RETURNING, SQLAlchemy
# would send one multi-row VALUES of 110 parameters, which psycopg parses on every call: the
# chain cost twice a plain INSERT's CPU).
_INSERT = insert(_TABLE)
# The head this transaction wrote last, for the head file once it commits.
_APPENDED = "sealflow_audit_appended"


# The events' canonical JSON (json.dumps would build an encoder per call).
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def content_digest(at: datetime, actor: str | None, action: str, request_id: int | None,
                   seal_id: int | None, details: dict[str, Any]) -> str:
    """An event's content, hashed (SHA-256 of its canonical JSON): what a proof shows of an
    event it does not disclose."""
    body = _JSON.encode([at.isoformat(), actor, action, request_id, seal_id, details])
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
    """The last event's hash, serialising appenders (PostgreSQL: the chain's advisory lock,
    held to the end of the transaction, then the head read in a statement of its own, whose
    snapshot sees every chain committed before the lock was granted; SQLite: writers already
    hold the database lock)."""
    cached = session.info.get(_HEAD_KEY)
    if cached is not None:
        return cached
    with session.no_autoflush:  # reading the head needs none of the pending writes
        if session.get_bind().dialect.name == "postgresql":
            last = _lock_and_head(session)
        else:
            # SQLite: the driver's own cursor, in the transaction SQLAlchemy began (a third
            # of a commit's time went to building and reading this one row otherwise).
            raw = session.connection().connection.driver_connection
            found = raw.execute(_HEAD_SQL).fetchone() if raw is not None else None
            last = found[0] if found else None
    return last or _NO_HEAD


_NO_HEAD = f"{GENESIS}::0"


_LOCK = f"SELECT pg_advisory_xact_lock({CHAIN_LOCK})"
_HEAD_SQL = ("SELECT hash || ':' || coalesce(mac, '') || ':' || seq FROM audit_events "
             "ORDER BY seq DESC LIMIT 1")
_LOCK_AND_HEAD = f"{_LOCK}; {_HEAD_SQL}"


def _lock_and_head(session: Session) -> str | None:
    """PostgreSQL: the chain's lock, then its head, in one round trip (two statements sent
    together: the second's snapshot is taken once the lock is granted). Anything unexpected:
    the two sent the ordinary way."""
    from psycopg.errors import error_from_result
    from psycopg.pq import ExecStatus, TransactionStatus

    pgconn = getattr(session.connection().connection.driver_connection, "pgconn", None)
    if pgconn is None or pgconn.transaction_status != TransactionStatus.INTRANS:
        session.execute(text(_LOCK))
        return session.execute(_HEAD).scalar()
    result = pgconn.exec_(_LOCK_AND_HEAD.encode())
    if result.status != ExecStatus.TUPLES_OK:  # a lock timeout, a deadlock: as SQLAlchemy says
        raise OperationalError(_LOCK_AND_HEAD, None, error_from_result(result))
    value = result.get_value(0, 0) if result.ntuples else None
    return value.decode() if value is not None else None


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
    prev, prev_mac, last_text = _head(session).split(":")
    prev_mac, last = prev_mac or GENESIS, int(last_text)
    ring = audit_keys.for_bind(session.get_bind())
    key, key_id = (ring.key, ring.key_id) if ring is not None else (None, None)
    for row in pending:
        row["prev_hash"] = prev
        row["hash"] = prev = digest(prev, row["at"], row["actor"], row["action"],
                                    row["request_id"], row["seal_id"], row["details"],
                                    keyed=key is not None)
        if key is not None:
            row["mac"] = prev_mac = chain_mac(key, prev_mac, prev)
        else:
            row["mac"] = None
        row["key_id"] = key_id
        row["seq"] = last = last + 1
    session.connection().execute(_INSERT, pending)  # Core: no ORM event for a plain INSERT
    session.info[_HEAD_KEY] = f"{prev}:{prev_mac if key is not None else ''}:{last}"
    if ring is not None and ring.head_file is not None:
        session.info[_APPENDED] = (ring, last, prev, prev_mac)


def _before_query(state: ORMExecuteState) -> None:
    """Like the ORM's autoflush: a query sees the events recorded before it (a check "was this
    warned already?" in the same transaction), unless autoflush is off for it. Not on
    PostgreSQL, where the events wait for the commit (see ``record``)."""
    if state.session.autoflush and _PENDING_KEY in state.session.info \
            and not _at_commit_only(state.session):
        write_pending(state.session)


def _before_flush(session: Session, *_args: Any) -> None:
    if not _at_commit_only(session):
        write_pending(session)


def _before_commit(session: Session) -> None:
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
    end of the log is found against it)."""
    appended = session.info.pop(_APPENDED, None)
    if appended is not None:
        audit_head.write(*appended)


# Every session: the events go out before the next query that autoflushes, before the ORM's
# own writes of a flush, and at a commit with nothing else to flush; a rollback drops them.
sa_event.listen(Session, "do_orm_execute", _before_query)
sa_event.listen(Session, "before_flush", _before_flush)
sa_event.listen(Session, "before_commit", _before_commit)
sa_event.listen(Session, "after_rollback", _drop_pending)
sa_event.listen(Session, "after_commit", _after_commit)
