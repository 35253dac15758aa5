"""Anchoring the audit chain: its head's hash timestamped by the configured TSA (RFC 3161; the
client sealing uses: Sealflow's own in-process, or the external one over HTTP), the token kept
in ``audit_anchors``. An anchor proves the log up to its event existed, as it is, at the
token's time, whoever holds the audit key since; verification checks every one.

Three steps, each in the caller's transaction (the job layer and the CLI own them): read the
head (:func:`due`), ask for the token with no write transaction open (:func:`stamp`: the
built-in TSA writes its serial in a transaction of its own), and record it (:func:`record`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

import signer
from processes.audit_models import AuditAnchor
from processes.env import Env
from processes.errors import Message, SealflowError, msg
from processes.models import AuditEvent
from processes.pki import timestamping
from processes.pki_models import PkiAuthority

QUIET = ("tsa.timestamp_granted",)
"""Events that alone do not call for a new anchor (an anchor's own token writes one)."""


class AnchorFailed(SealflowError):
    """The TSA gave no token for the head (unreachable, refused)."""

    code = "anchor_failed"


@dataclass(frozen=True)
class Head:
    """The event to anchor."""

    seq: int
    hash: str
    mac: str | None
    key_id: str | None


def due(session: Session, *, force: bool = False) -> Head | None:
    """The chain's head, if it needs an anchor: events other than :data:`QUIET` ones came
    since the last anchor (``force``: any head not anchored yet)."""
    row = session.execute(select(AuditEvent.seq, AuditEvent.hash, AuditEvent.mac,
                                 AuditEvent.key_id).order_by(AuditEvent.seq.desc()).limit(1)
                          ).first()
    if row is None:
        return None
    last = session.execute(select(AuditAnchor.seq).order_by(AuditAnchor.seq.desc()).limit(1)
                           ).scalar()
    if last is not None and last >= row.seq:
        return None
    if last is not None and not force and not session.execute(select(exists().where(
            AuditEvent.seq > last, AuditEvent.action.not_in(QUIET)))).scalar():
        return None
    return Head(row.seq, row.hash, row.mac, row.key_id)


def stamp(session: Session, env: Env, head: Head) -> bytes:
    """The TSA's token over the head's hash (the imprint is the hash itself). Ask with no write
    transaction open.

    :raises AnchorFailed: no token could be had now.
    """
    client = timestamping.timestamper_for(dataclasses.replace(env, pades_level="B-T"), session)
    assert client is not None  # B-T always has a client
    try:
        return signer.timestamp_digest(client, bytes.fromhex(head.hash))
    except Exception as exc:  # noqa: BLE001 - refused, unreachable, garbled: no anchor now
        raise AnchorFailed(msg("the timestamp authority gave no token for the audit chain's "
                               "head: %(reason)s", reason=str(exc) or type(exc).__name__)) \
            from exc


def record(session: Session, head: Head, token: bytes) -> AuditAnchor:
    """Keep the anchor (flushed)."""
    check = signer.check_digest_token(token, bytes.fromhex(head.hash), _roots(session))
    if check.problem is not None or check.time is None:
        raise AnchorFailed(msg("the timestamp authority's token does not hold: %(reason)s",
                               reason=check.problem or "no time"))
    anchor = AuditAnchor(seq=head.seq, hash=head.hash, mac=head.mac, key_id=head.key_id,
                         token=token, stamped_at=check.time)
    session.add(anchor)
    session.flush()
    return anchor


def _roots(session: Session, extra: tuple[bytes, ...] = ()) -> list[bytes]:
    own = session.execute(select(PkiAuthority.cert_pem).where(PkiAuthority.kind == "root")) \
        .scalars().all()
    return [bytes(pem) for pem in own] + list(extra)


@dataclass
class Anchors:
    """The anchors after a position, checked: the hash each anchored event must have, and the
    first whose token does not hold."""

    by_seq: dict[int, str] = field(default_factory=dict)
    bad: tuple[int, Message] | None = None
    checked: int = 0


def check_anchors(session: Session, trust_roots: tuple[bytes, ...] = (), *,
                  after: int = 0) -> Anchors:
    """Every anchor of an event after ``after``: its token verifies (against the organisation's
    root and ``trust_roots``) and is over the hash it names."""
    found = Anchors()
    rows = session.execute(select(AuditAnchor.seq, AuditAnchor.hash, AuditAnchor.token)
                           .where(AuditAnchor.seq > after).order_by(AuditAnchor.seq)).all()
    roots = _roots(session, trust_roots) if rows else []
    for seq, head_hash, token in rows:
        found.checked += 1
        check = signer.check_digest_token(bytes(token), bytes.fromhex(head_hash), roots)
        if check.problem is not None:
            found.bad = found.bad or (seq, msg("the anchor of event %(seq)s does not hold: "
                                               "%(reason)s", seq=seq, reason=check.problem))
        elif found.by_seq.setdefault(seq, head_hash) != head_hash:
            found.bad = found.bad or (seq, msg("event %(seq)s has two anchors that differ",
                                               seq=seq))
    return found
