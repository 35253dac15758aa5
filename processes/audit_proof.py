"""A public proof that some events are in the audit chain, as they are, up to an anchor: the
events shown whole, every other event between them and the anchor by its content digest only
(nothing of it leaks). Checked with no key and no database (:func:`check`); the anchor's token
is checked apart (``signer.check_digest_token`` over the hash the run ends at).

Only keyed events can be passed over this way (their hash is ``link(prev, content)``: see
:func:`processes.audit.digest`); a run reaching back before the keys cannot be proved so."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.audit import content_digest, link
from processes.models import AuditEvent

_HEX64 = re.compile(r"[0-9a-f]{64}")
SHOWN = ("seq", "at", "actor", "action", "request_id", "seal_id", "details", "prev_hash",
         "hash")


def build(session: Session, request_id: int, anchor_seq: int) -> list[dict[str, Any]]:
    """The run from the request's first event to the anchored one: the request's own events
    whole (:data:`SHOWN`), the others as ``{seq, content}``.

    :raises ValueError: the request has no event before the anchor, or the run holds events
        from before the keys.
    """
    first = session.execute(select(AuditEvent.seq).where(
        AuditEvent.request_id == request_id, AuditEvent.seq <= anchor_seq)
        .order_by(AuditEvent.seq).limit(1)).scalar()
    if first is None:
        raise ValueError(f"request {request_id} has no audit event up to {anchor_seq}")
    run = []
    for event in session.execute(select(AuditEvent).where(
            AuditEvent.seq >= first, AuditEvent.seq <= anchor_seq)
            .order_by(AuditEvent.seq)).scalars():
        if event.key_id is None:
            raise ValueError(f"event {event.seq} is from before the audit keys")
        if event.request_id == request_id:
            run.append({name: getattr(event, name) for name in SHOWN}
                       | {"at": event.at.isoformat(), "details": event.details or {}})
        else:
            run.append({"seq": event.seq, "content": content_digest(
                event.at, event.actor, event.action, event.request_id, event.seal_id,
                event.details or {})})
    return run


def check(run: list[dict[str, Any]], anchor_hash: str) -> tuple[int | None, str | None]:
    """``(None, None)`` when ``run`` links, event by event, to ``anchor_hash``; else the seq
    of the first item that does not hold (None: the run as a whole) and why."""
    if not run or "content" in run[0] or not _HEX64.fullmatch(str(run[0].get("prev_hash"))):
        return None, "the run must start with an event shown whole"
    prev = run[0]["prev_hash"]
    for item in run:
        seq = item.get("seq")
        if "content" in item:
            content = item["content"]
            if not isinstance(content, str) or not _HEX64.fullmatch(content):
                return seq, "an event passed over must be given by its content digest"
        else:
            try:
                content = content_digest(datetime.fromisoformat(item["at"]), item["actor"],
                                         item["action"], item["request_id"], item["seal_id"],
                                         item["details"])
            except (KeyError, TypeError, ValueError):
                return seq, "the event is not whole"
            if item.get("prev_hash") != prev:
                return seq, "the event does not follow the one before it"
        prev = link(prev, content)
        if "hash" in item and item["hash"] != prev:
            return seq, "the event's hash does not match its content"
    if prev != anchor_hash:
        return None, "the run does not end at the anchored head"
    return None, None
