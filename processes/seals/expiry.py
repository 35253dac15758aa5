"""Seals whose certificate runs out: their custodians warned ahead, the seal ``expired`` when it
has (the scheduler's daily PKI maintenance runs both)."""

from __future__ import annotations

import functools
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit, notices, signals
from processes.db import on_commit
from processes.errors import WorkflowStateError, msg
from processes.models import AuditEvent, Seal, SealStatus, utcnow
from processes.seals.lifecycle import transition
from signer import certificate_from_pem


def expire_due(session: Session) -> list[int]:
    """Seals whose certificate has expired move to ``expired`` by themselves."""
    now = utcnow()
    expired = []
    for seal in session.execute(select(Seal).where(Seal.status.in_(
            (SealStatus.active, SealStatus.suspended)), Seal.system.is_(False))).scalars():
        if certificate_from_pem(seal.cert_pem).not_valid_after_utc <= now:
            try:
                transition(session, seal, SealStatus.expired, system=True,
                           reason=msg("its certificate expired"))
            except WorkflowStateError:
                continue  # changed since it was read (another worker expired it, say)
            expired.append(seal.id)
    return expired


WARN_DAYS = 30


def warn_expiring(session: Session, days: int = WARN_DAYS) -> list[int]:
    """Seals whose certificate expires within ``days``: their custodians are warned (an audit
    event and a signal) once per seal and certificate."""
    now = utcnow()
    warned = []
    for seal in session.execute(select(Seal).where(
            Seal.status == SealStatus.active, Seal.system.is_(False))).scalars():
        not_after = certificate_from_pem(seal.cert_pem).not_valid_after_utc
        if now < not_after <= now + timedelta(days=days):
            done = session.execute(select(AuditEvent.seq).where(
                AuditEvent.action == "seal.expiring", AuditEvent.seal_id == seal.id,
                AuditEvent.details["serial"].as_string() == seal.certificate_serial)
            ).first() or any(
                e["action"] == "seal.expiring" and e["seal_id"] == seal.id
                and e["details"].get("serial") == seal.certificate_serial
                for e in audit.pending(session))  # in this transaction, not written yet
            if done:
                continue
            audit.record(session, "seal.expiring", seal_id=seal.id,
                         serial=seal.certificate_serial, not_after=not_after.isoformat(),
                         custodians=[u.name for u in seal.custodians])
            notices.notify(
                session, [u.id for u in seal.custodians], "seal.expiring",
                msg("The certificate of seal “%(seal)s” expires on %(date)s: ask for its "
                    "renewal (seal_change).", seal=seal.name, date=not_after.date().isoformat()),
                link=f"/seals/{seal.id}")
            on_commit(session, functools.partial(signals.seal_expiring.send, None,
                                                 seal_id=seal.id, not_after=not_after))
            warned.append(seal.id)
    return warned
