"""The tamper-evident log: each event's hash covers its content and the previous event's hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState, Session

from processes.db import WRITERS_LOCK, is_writer, transaction_cache
from processes.models import AuditEvent, User, utcnow

GENESIS = "0" * 64
_HEAD = select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
HEAD = _HEAD.scalar_subquery()
"""The chain's head as a column: read along with a lock the transaction takes anyway (see
``remember_head``)."""
# The head this transaction appended last (its lock is held to the end of the transaction).
_HEAD_KEY = transaction_cache("sealflow_audit_head")
# Events recorded and not yet written: all written in one INSERT at the next flush or commit.
_PENDING_KEY = transaction_cache("sealflow_audit_pending")
_INSERT = insert(cast(Table, AuditEvent.__table__))  # Core: plain rows, no ORM objects


def _digest(prev_hash: str, at: datetime, actor: str | None, action: str,
            request_id: int | None, seal_id: int | None, details: dict[str, Any]) -> str:
    body = json.dumps([prev_hash, at.isoformat(), actor, action, request_id, seal_id, details],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def remember_head(session: Session, head: str | None) -> None:
    """The chain's head as a writing transaction read it (``HEAD`` beside the request's lock),
    so that ``record`` need not read it again. Only a writer's: it holds the lock that
    serialises appenders from its first statement (PostgreSQL: the writers' advisory lock
    taken at BEGIN; SQLite: BEGIN IMMEDIATE); a reader's head could be overtaken."""
    if is_writer() and _HEAD_KEY not in session.info:
        session.info[_HEAD_KEY] = head or GENESIS


def _head(session: Session) -> str:
    """The last event's hash, serialising appenders (PostgreSQL: an advisory transaction lock;
    SQLite: writers already hold the database lock)."""
    cached = session.info.get(_HEAD_KEY)
    if cached is not None:
        return cached
    with session.no_autoflush:  # reading the head needs none of the pending writes
        if session.get_bind().dialect.name == "postgresql":
            # Taken already when the transaction began as a writer; taken again (it is
            # re-entrant) for one that did not announce itself.
            session.execute(text(f"SELECT pg_advisory_xact_lock({WRITERS_LOCK})"))
        last = session.execute(_HEAD).scalar()
    return last or GENESIS


def record(session: Session, action: str, *, actor: User | None = None,
           request_id: int | None = None, seal_id: int | None = None,
           **details: Any) -> None:
    """Append one event to the log (in the caller's transaction). It is written with the
    transaction's other events in one INSERT when the ORM would autoflush (the next query, the
    next flush, the commit): plain rows, no ORM object, no RETURNING of its number."""
    prev = _head(session)
    at = utcnow()
    actor_name = actor.name if actor is not None else None
    session.info.setdefault(_PENDING_KEY, []).append({
        "at": at, "actor_id": actor.id if actor is not None else None, "actor": actor_name,
        "action": action, "request_id": request_id, "seal_id": seal_id, "details": details,
        "prev_hash": prev,
        "hash": _digest(prev, at, actor_name, action, request_id, seal_id, details)})
    session.info[_HEAD_KEY] = session.info[_PENDING_KEY][-1]["hash"]


def write_pending(session: Session, *_args: Any) -> None:
    """Write the events recorded since the last write (one INSERT; in chain order)."""
    pending = session.info.pop(_PENDING_KEY, None)
    if pending:
        session.execute(_INSERT, pending)


def _before_query(state: ORMExecuteState) -> None:
    """Like the ORM's autoflush: a query sees the events recorded before it (a check "was this
    warned already?" in the same transaction), unless autoflush is off for it."""
    if state.session.autoflush and _PENDING_KEY in state.session.info:
        write_pending(state.session)


def _drop_pending(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING_KEY, None)


# Every session: the events go out before the next query that autoflushes, before the ORM's
# own writes of a flush, and at a commit with nothing else to flush; a rollback drops them.
sa_event.listen(Session, "do_orm_execute", _before_query)
sa_event.listen(Session, "before_flush", write_pending)
sa_event.listen(Session, "before_commit", write_pending)
sa_event.listen(Session, "after_rollback", _drop_pending)


def verify(session: Session) -> dict[str, Any]:
    """Walk the chain: ``{ok, events, first_bad}`` (first_bad: seq of the first broken event)."""
    write_pending(session)
    prev = GENESIS
    count = 0
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars():
        count += 1
        expected = _digest(prev, event.at, event.actor, event.action, event.request_id,
                           event.seal_id, event.details or {})
        if event.prev_hash != prev or event.hash != expected:
            return {"ok": False, "events": count, "first_bad": event.seq}
        prev = event.hash
    return {"ok": True, "events": count, "first_bad": None}
