"""The tamper-evident log: each event's hash covers its content and the previous event's hash."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from processes.db import WRITERS_LOCK, transaction_cache
from processes.models import AuditEvent, User, utcnow

GENESIS = "0" * 64
_HEAD = select(AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
# The head this transaction appended last (its lock is held to the end of the transaction).
_HEAD_KEY = transaction_cache("sealflow_audit_head")


def _digest(prev_hash: str, at: datetime, actor: str | None, action: str,
            request_id: int | None, seal_id: int | None, details: dict[str, Any]) -> str:
    body = json.dumps([prev_hash, at.isoformat(), actor, action, request_id, seal_id, details],
                      sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


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
           **details: Any) -> AuditEvent:
    """Append one event to the log (in the caller's transaction)."""
    prev = _head(session)
    at = utcnow()
    actor_name = actor.name if actor is not None else None
    event = AuditEvent(at=at, actor_id=actor.id if actor is not None else None,
                       actor=actor_name, action=action, request_id=request_id,
                       seal_id=seal_id, details=details, prev_hash=prev)
    event.hash = _digest(prev, at, actor_name, action, request_id, seal_id, details)
    session.add(event)
    session.info[_HEAD_KEY] = event.hash
    return event


def verify(session: Session) -> dict[str, Any]:
    """Walk the chain: ``{ok, events, first_bad}`` (first_bad: seq of the first broken event)."""
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
