"""Publishing the CRL of the issuing CA: on revocation and on a schedule, ahead of nextUpdate."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processes import audit
from processes.env import Env
from processes.models import Seal, SealStatus, utcnow
from processes.seal_models import PublishedCrl, SealTransition
from processes.seals import ensure_pki
from signer.crl import Revocation, make_crl

logger = logging.getLogger(__name__)

VALID_HOURS = 48
"""How long a published CRL is valid (its nextUpdate); it is renewed well before, daily."""


def latest(session: Session) -> PublishedCrl | None:
    return session.execute(select(PublishedCrl).order_by(PublishedCrl.number.desc())
                           .limit(1)).scalar_one_or_none()


def publish(session: Session, env: Env, now: datetime | None = None) -> PublishedCrl:
    """Sign and keep a new CRL listing every revoked seal certificate."""
    now = now or utcnow()
    revoked = []
    rows = session.execute(
        select(Seal.cert_pem, func.max(SealTransition.at))
        .join(SealTransition, (SealTransition.seal_id == Seal.id)
              & (SealTransition.to_status == SealStatus.revoked))
        .where(Seal.status == SealStatus.revoked).group_by(Seal.id, Seal.cert_pem)).all()
    for cert_pem, at in rows:
        serial = x509.load_pem_x509_certificate(cert_pem).serial_number
        revoked.append(Revocation(serial, at, x509.ReasonFlags.key_compromise))
    number = (session.execute(select(func.max(PublishedCrl.number))).scalar() or 0) + 1
    _, issuing = ensure_pki(session, env)
    next_update = now + timedelta(hours=VALID_HOURS)
    der = make_crl(issuing, env.key_passphrase, revoked, number=number, this_update=now,
                   next_update=next_update)
    crl = PublishedCrl(number=number, this_update=now, next_update=next_update, der=der)
    session.add(crl)
    session.flush()
    audit.record(session, "pki.crl_published", number=number, revoked=len(revoked),
                 next_update=next_update.isoformat())
    logger.info("CRL %d published (%d revoked)", number, len(revoked))
    return crl


def due(session: Session, now: datetime | None = None) -> bool:
    """Whether a new CRL should be published (none yet, or half its validity gone)."""
    current = latest(session)
    now = now or utcnow()
    return current is None or now >= current.this_update + timedelta(hours=VALID_HOURS / 2)
