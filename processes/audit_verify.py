"""Checking the audit log: the SHA-256 chain, the MACs over it, every anchor, and the head file
(the API's side: app/api/audit_verify.py; the command's: app/cli_audit.py).

:func:`verify` walks the events in order, from the first or from a :class:`Position` trusted
already (a checkpoint of an interrupted run), and stops at the first event that does not hold
(``first_bad``): its content changed (its hash), it does not follow the one before it (an event
deleted, inserted or moved before it), its MAC does not hold (the chain rewritten without the
key), it names a key not held or one no rotation introduced, or it is unkeyed after keyed ones.
Each anchor's token must verify and name the hash its event has; the head file's event must be
there with that hash (events cut from the end are found there: the file is outside the
database). A report is ``{ok, events, anchors, first_bad, reason, last_seq, start}``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit, audit_head, audit_keys
from processes.audit_anchor import Anchors, check_anchors
from processes.audit_keys import GENESIS, Keyring, chain_mac
from processes.errors import Message, msg
from processes.models import AuditEvent

ROTATION = "audit.key_rotated"
"""The event that names the next key (``details.new_key_id``), MAC'd by the key before it."""
BATCH = 500
_COLUMNS = (AuditEvent.seq, AuditEvent.at, AuditEvent.actor, AuditEvent.action,
            AuditEvent.request_id, AuditEvent.seal_id, AuditEvent.details,
            AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.mac, AuditEvent.key_id)


@dataclass(frozen=True)
class Position:
    """The state of a walk after the event ``seq`` (0: before the first): what the next event
    must follow. Saved as a keyed checkpoint (:func:`dump`) to resume an interrupted check."""

    seq: int = 0
    hash: str = GENESIS
    mac: str = GENESIS
    key_id: str | None = None
    """The key of the last keyed event (None: none keyed yet)."""
    next_key_id: str | None = None
    """The key a rotation named, not used yet."""
    events: int = 0
    """Events checked up to here."""

    def dump(self, ring: Keyring) -> dict[str, Any]:
        body = asdict(self)
        return {**body, "checkpoint_mac": ring.seal(repr(sorted(body.items())).encode())}

    @classmethod
    def load(cls, ring: Keyring, data: dict[str, Any]) -> Position | None:
        """The position a checkpoint holds, or None if its MAC does not hold."""
        body: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        if not ring.opens(repr(sorted(body.items())).encode(), data.get("checkpoint_mac", ""),
                          ring.key_id):
            return None
        return cls(**body)


def position_before(session: Session, seq: int) -> Position:
    """A walk starting at event ``seq``, trusting the event before it as it stands (its hash
    and MAC) and the last key rotation before it (``sealflow audit verify --from``)."""
    before = session.execute(select(AuditEvent.seq, AuditEvent.hash, AuditEvent.mac,
                                    AuditEvent.key_id).where(AuditEvent.seq < seq)
                             .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if before is None:
        return Position()
    rotated = session.execute(select(AuditEvent.details).where(
        AuditEvent.action == ROTATION, AuditEvent.seq <= before.seq)
        .order_by(AuditEvent.seq.desc()).limit(1)).scalar()
    return Position(before.seq, before.hash, before.mac or GENESIS, before.key_id,
                    (rotated or {}).get("new_key_id"), 0)


def _check(ring: Keyring | None, at: Position, row: Any) -> tuple[Message | None, Position]:
    """One event against the position before it: what is wrong with it, and the position
    after it."""
    if row.prev_hash != at.hash:
        return msg("event %(seq)s does not follow the event before it: an event was deleted, "
                   "inserted or moved there", seq=row.seq), at
    expected = audit.digest(at.hash, row.at, row.actor, row.action, row.request_id,
                            row.seal_id, row.details or {}, keyed=row.key_id is not None)
    if row.hash != expected:
        return msg("event %(seq)s was changed: its content does not match its hash",
                   seq=row.seq), at
    events = at.events + 1
    if row.mac is None:
        if at.key_id is not None:
            return msg("event %(seq)s has no MAC, after keyed events", seq=row.seq), at
        return None, Position(row.seq, row.hash, at.mac, None, at.next_key_id, events)
    if ring is None:  # no key here: the public layer only
        return None, Position(row.seq, row.hash, row.mac, row.key_id, None, events)
    key = ring.find(row.key_id)
    if key is None:
        return msg("event %(seq)s was made with a key not held here (%(key)s)", seq=row.seq,
                   key=row.key_id or "-"), at
    next_key = at.next_key_id
    if at.key_id is not None and row.key_id != at.key_id:
        if row.key_id != at.next_key_id:
            return msg("event %(seq)s changes the key without a rotation", seq=row.seq), at
        next_key = None
    if row.mac != chain_mac(key, at.mac, row.hash):
        return msg("event %(seq)s does not carry its MAC: the log was rewritten without the "
                   "key", seq=row.seq), at
    if row.action == ROTATION:
        next_key = (row.details or {}).get("new_key_id")
    return None, Position(row.seq, row.hash, row.mac, row.key_id, next_key, events)


def _walk(ring: Keyring | None, at: Position, rows: Any, anchors: Anchors,
          expected: dict[int, str], progress: Callable[[Position], None] | None,
          every: int) -> tuple[Position, tuple[int, Message] | None]:
    """Check ``rows`` in order from ``at``: the position after the last that holds, and the
    first finding (None: none). ``expected`` loses each hash it found."""
    for row in rows:
        if anchors.bad is not None and anchors.bad[0] < row.seq:
            return at, anchors.bad
        reason, after = _check(ring, at, row)
        if reason is not None:
            return at, (row.seq, reason)
        if row.seq in expected and expected.pop(row.seq) != row.hash:
            return at, (row.seq, msg("event %(seq)s is not the one its anchor or the head "
                                     "file holds", seq=row.seq))
        at = after
        if progress is not None and at.events % every == 0:
            progress(at)
    return at, None


def verify(session: Session, ring: Keyring | None = None, *, start: Position | None = None,
           trust_roots: tuple[bytes, ...] = (),
           progress: Callable[[Position], None] | None = None,
           every: int = BATCH) -> dict[str, Any]:
    """Check the log from ``start`` (default: the first event) to its end; ``ring``: the
    database's keys (default: as configured for its engine; without any, the SHA-256 chain
    only). ``progress`` is told the position every ``every`` events (a progress bar, a
    checkpoint). ``trust_roots``: roots an external TSA's tokens chain to, beside the
    organisation's."""
    audit.write_pending(session)
    if ring is None:
        ring = audit_keys.for_bind(session.get_bind())
    at = start or Position()
    anchors = check_anchors(session, trust_roots, after=at.seq)
    head, head_problem = audit_head.read(ring) if ring is not None else (None, None)
    expected = dict(anchors.by_seq)  # seq -> the hash its event must have
    if head is not None and head["seq"] > at.seq and expected.get(head["seq"]) is None:
        expected[head["seq"]] = head["hash"]
    report = {"ok": True, "events": 0, "anchors": anchors.checked, "first_bad": None,
              "reason": None, "last_seq": at.seq, "start": at.seq + 1}

    def bad(seq: int | None, reason: Message) -> dict[str, Any]:
        return {**report, "ok": False, "events": at.events, "first_bad": seq,
                "reason": reason, "last_seq": at.seq}

    query = select(*_COLUMNS).where(AuditEvent.seq > at.seq).order_by(AuditEvent.seq) \
        .execution_options(yield_per=BATCH)
    with closing(session.execute(query)) as rows:  # a server-side cursor on PostgreSQL
        found = _walk(ring, at, rows, anchors, expected, progress, every)
    at = found[0]
    if found[1] is not None:
        return bad(*found[1])
    if anchors.bad is not None:
        return bad(*anchors.bad)
    if expected:
        missing = at.seq + 1
        return bad(missing, msg("events from %(seq)s on are missing: the log ends at %(last)s, "
                                "an anchor or the head file names event %(named)s",
                                seq=missing, last=at.seq, named=max(expected)))
    if head_problem is not None:
        return bad(None, msg("the head file does not hold: %(problem)s", problem=head_problem))
    if head is None and ring is not None and ring.head_file is not None \
            and at.key_id is not None:
        return bad(None, msg("the head file %(path)s is missing", path=str(ring.head_file)))
    if progress is not None:
        progress(at)
    return {**report, "events": at.events, "last_seq": at.seq}


def rotate_key(session: Session, new_key: bytes) -> str:
    """Record the rotation to ``new_key`` (its fingerprint; MAC'd, like every event, by the
    key in use now): from the first event the new key makes, the old one makes none. Returns
    the new key's fingerprint."""
    ring = audit_keys.for_bind(session.get_bind())
    new_id = audit_keys.fingerprint(new_key)
    if ring is None or ring.key_id == new_id:
        raise ValueError("a rotation needs the key in use now and a new one")
    audit.record(session, ROTATION, old_key_id=ring.key_id, new_key_id=new_id)
    return new_id
