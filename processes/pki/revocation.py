"""Publishing CRLs: the issuing CA's (seal certificates) on revocation and on a schedule, ahead
of nextUpdate; the root CA's (the issuing CA) yearly, which works with the root key offline too:
then ``sealflow pki root-crl --root-key FILE`` signs it, and the scheduler says when it is due."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processes import audit
from processes.db import serialize
from processes.env import Env
from processes.errors import BadInput, msg
from processes.models import Seal, SealStatus, utcnow
from processes.pki.authorities import ensure_pki, root_key_online
from processes.pki_models import IssuedCertificate, PublishedCrl
from processes.seal_models import SealTransition
from signer import KeyMaterial, KeyUnavailable, Revocation, make_crl

logger = logging.getLogger(__name__)

VALID_HOURS = 48
"""How long a published CRL is valid (its nextUpdate); it is renewed well before, daily."""


ROOT_VALID_DAYS = 365
"""How long the root's CRL is valid: a year, as it is signed by hand once the root key is
offline; renewed from 30 days before (:data:`ROOT_RENEW_DAYS`)."""

ROOT_RENEW_DAYS = 30


def latest(session: Session, issuer: str = "issuing") -> PublishedCrl | None:
    return session.execute(select(PublishedCrl).where(PublishedCrl.issuer == issuer)
                           .order_by(PublishedCrl.number.desc()).limit(1)).scalar_one_or_none()


def _next_number(session: Session, issuer: str) -> int:
    serialize(session, "crl_numbers")  # two publishers at once: numbers in turn
    return (session.execute(select(func.max(PublishedCrl.number))
                            .where(PublishedCrl.issuer == issuer)).scalar() or 0) + 1


def publish(session: Session, env: Env, now: datetime | None = None) -> PublishedCrl:
    """Sign and keep a new CRL listing every revoked seal certificate."""
    now = now or utcnow()
    revoked = [Revocation(int(serial, 16), at, x509.ReasonFlags.key_compromise)
               for serial, at in revoked_certificates(session)]
    number = _next_number(session, "issuing")
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


def revoked_certificates(session: Session, serial: str | None = None
                         ) -> list[tuple[str, datetime]]:
    """(serial, when) of every certificate of every revoked seal (or only ``serial``'s): all
    of them, since a renewed certificate keeps the seal's key. The CRL lists them; OCSP asks
    about one."""
    when = (select(SealTransition.seal_id, func.max(SealTransition.at).label("at"))
            .where(SealTransition.to_status == SealStatus.revoked)
            .group_by(SealTransition.seal_id).subquery())
    query = (select(IssuedCertificate.serial, when.c.at)
             .join(Seal, Seal.id == IssuedCertificate.seal_id)
             .join(when, when.c.seal_id == Seal.id)
             .where(Seal.status == SealStatus.revoked).order_by(IssuedCertificate.id))
    if serial is not None:
        query = query.where(IssuedCertificate.serial == serial)
    return [(found, at) for found, at in session.execute(query)]


def due(session: Session, now: datetime | None = None) -> bool:
    """Whether a new CRL should be published (none yet, or half its validity gone)."""
    current = latest(session)
    now = now or utcnow()
    return current is None or now >= current.this_update + timedelta(hours=VALID_HOURS / 2)


def publish_root(session: Session, env: Env, *, root_key_pem: bytes | None = None,
                 now: datetime | None = None) -> PublishedCrl:
    """Sign and keep a new CRL of the root CA (it lists no certificate: the one CA below the
    root is the issuing CA, which is replaced, not revoked, with the PKI). The root key is the
    one in the database, or ``root_key_pem`` (the file ``pki root-offline`` wrote, encrypted
    with the same passphrase) once it is offline.

    :raises BadInput: the root key is offline and no key was given, or the key given is not the
        root's, or it does not decrypt with the passphrase.
    """
    now = now or utcnow()
    root, _ = ensure_pki(session, env)
    if root_key_pem is None:
        if not root.key_pem:
            raise BadInput(msg("the root CA key is offline: give it with --root-key FILE"))
        root_key_pem = root.key_pem
    key_material = KeyMaterial(root.cert_pem, root_key_pem)
    try:
        key_material.matching_key(env.key_passphrase, "the root CA's")
    except KeyUnavailable as exc:
        raise BadInput(msg("the root CA key cannot be used: %(error)s", error=exc)) from None
    number = _next_number(session, "root")
    next_update = now + timedelta(days=ROOT_VALID_DAYS)
    der = make_crl(key_material, env.key_passphrase, [], number=number, this_update=now,
                   next_update=next_update)
    crl = PublishedCrl(issuer="root", number=number, this_update=now, next_update=next_update,
                       der=der)
    session.add(crl)
    session.flush()
    audit.record(session, "pki.root_crl_published", number=number,
                 next_update=next_update.isoformat(), root_key="online"
                 if root_key_online(session) else "offline")
    logger.info("root CRL %d published, valid until %s", number, next_update.isoformat())
    return crl


def root_due(session: Session, now: datetime | None = None) -> bool:
    """Whether the root's CRL needs signing (none yet, or less than 30 days left)."""
    current = latest(session, "root")
    now = now or utcnow()
    return current is None or now >= current.next_update - timedelta(days=ROOT_RENEW_DAYS)


def renew_root_if_due(session: Session, env: Env, now: datetime | None = None) -> str | None:
    """The scheduler's step: sign the root CRL when due and the key is online; when it is
    offline, warn (log and audit, at each run) that someone must sign it by hand. Returns what
    it did: "published", "due" or None."""
    if not root_due(session, now):
        return None
    if root_key_online(session):
        publish_root(session, env, now=now)
        return "published"
    current = latest(session, "root")
    expires = current.next_update.isoformat() if current is not None else "none published"
    logger.warning("the root CRL is due (%s) and the root key is offline: run `sealflow pki "
                   "root-crl --root-key FILE`", expires)
    audit.record(session, "pki.root_crl_due", next_update=expires)
    return "due"
