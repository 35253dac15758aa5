"""Long-term signatures: each seal's PAdES level, and the renewal of archive timestamps.

Levels (``signer.PADES_LEVELS``): B-B, B-T (an RFC 3161 timestamp), B-LT (and the validation
data in the document: the CA chain and the issuing CA's latest published CRL), B-LTA (and a
document timestamp over all of that). A seal's ``pades_level`` chooses; null means
``SEALFLOW_PADES_LEVEL``.

Renewal rule: a sealed document at B-LTA is due when the TSA certificate of its newest document
timestamp expires within ``before`` (:data:`RENEW_BEFORE`, 90 days, in the scheduler's run):
once that certificate has expired, the timestamp, and so everything it vouches for, can no longer
be validated. Renewing adds the old timestamp's validation data (with the latest CRL) and a new
document timestamp over everything, from the TSA that seals today. A renewal that would leave the
document due again (the TSA's own certificate expires within ``before`` too) helps nothing: it is
dropped and the run stops with a warning, so that a TSA certificate near its end does not add a
revision to every document every run. Renew the TSA certificate first.

Candidates are the sealed requests whose seal is at B-LTA now; each one's newest timestamp is read
from its PDF. The steps here flush, never commit: the job
(``app.renewal_jobs.renew_due_timestamps``)
reads each document, renews it with no transaction open and records it, each in a unit of work
of its own.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import signer
from processes import audit, documents
from processes.db import lock_request
from processes.env import Env
from processes.errors import BadInput, Message, SealingFailed, msg
from processes.models import Request, RequestStatus, Seal, User, utcnow
from processes.pki import authorities, revocation, timestamping

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import TimeStamper

logger = logging.getLogger(__name__)

PADES_LEVELS = signer.PADES_LEVELS
"""The levels a seal may sign at, weakest first."""

RENEW_BEFORE = timedelta(days=90)
"""How long before the newest archive timestamp's TSA certificate expires its document is
renewed (the scheduler runs every 6 hours, so there is ample time to retry)."""


def level_of(seal: Seal, env: Env) -> str:
    """The PAdES level the seal signs at: its own, or the configured default."""
    return seal.pades_level or env.pades_level


def set_level(session: Session, seal: Seal, level: str | None, *,
              actor: User | None = None) -> Seal:
    """Set the seal's PAdES level (``B-B``, ``B-T``, ``B-LT``, ``B-LTA``); ``None`` goes back to
    the configured default. Recorded in the audit log.

    :raises BadInput: not a PAdES level.
    """
    if level is not None:
        level = level.strip().upper()
        if level not in PADES_LEVELS:
            raise BadInput(msg("the PAdES level must be one of %(pades_levels)s, not '%(level)s'",
                               pades_levels=', '.join(PADES_LEVELS), level=level))
    previous, seal.pades_level = seal.pades_level, level
    audit.record(session, "seal.pades_level_changed", actor=actor, seal_id=seal.id,
                 previous=previous, level=level)
    logger.info("seal %d signs at %s", seal.id, level or "the default level")
    return seal


def timestamper_for(env: Env, level: str, session: Session) -> TimeStamper | None:
    """The timestamp client for a seal at ``level``: none for B-B; above, the external TSA's
    (``SEALFLOW_TSA_URL``) or the built-in TSA, asked in-process on ``session``'s database (with
    no write transaction open: see :func:`processes.pki.timestamping.timestamper_for`)."""
    if level == "B-B":
        return None
    # timestamping.timestamper_for answers for the configured default level; ask it as for B-T.
    return timestamping.timestamper_for(dataclasses.replace(env, pades_level="B-T"), session)


def long_term_settings(session: Session, level: str,
                       extra_roots: tuple[bytes, ...] = ()) -> signer.LongTermSettings | None:
    """What a seal at ``level`` embeds for the long term: for B-LT and B-LTA, the organisation
    root to validate against, the issuing CA's latest CRL and the root's (if published);
    ``None`` for B-B and B-T. Reads
    only: ``sealflow init`` and the scheduler publish the CRL.

    :raises SealingFailed: no CRL has been published, or the latest has expired.
    """
    return _validation_data(session, level, extra_roots) if level in ("B-LT", "B-LTA") else None


def _validation_data(session: Session, level: str,
                     extra_roots: tuple[bytes, ...] = ()) -> signer.LongTermSettings:
    current = revocation.latest(session)
    if current is None:
        raise SealingFailed(msg("PAdES %(level)s embeds the CRL, and none has been published "
                                "yet: run `sealflow init` or let the scheduler publish one",
                                level=level))
    if current.next_update <= utcnow():
        raise SealingFailed(msg("PAdES %(level)s embeds the CRL, and the latest (number "
                                "%(number)s) expired at %(next_update)s: is the scheduler "
                                "(`sealflow worker`) running?", level=level,
                                number=current.number,
                                next_update=current.next_update.isoformat()))
    roots = authorities.ca_certificates(session)[:1] + list(extra_roots)
    crls = [current.der]
    root_crl = revocation.latest(session, "root")
    if root_crl is not None and root_crl.next_update > utcnow():
        crls.append(root_crl.der)  # the issuing CA's status, for validators that ask
    return signer.LongTermSettings(trust_roots=tuple(roots), crls=tuple(crls), level=level)


@dataclass
class RenewalRun:
    """What one run of the renewal job (``app.renewal_jobs.renew_due_timestamps``) did."""

    checked: int = 0
    """B-LTA documents looked at."""

    renewed: list[int] = field(default_factory=list)
    """Requests whose sealed document was renewed."""

    failed: list[int] = field(default_factory=list)
    """Requests whose renewal failed (tried again next run)."""

    stopped: str | None = None
    """Why the run stopped early, if it did."""


def renewal_candidates(session: Session, env: Env) -> list[int]:
    """Sealed requests whose seal is at B-LTA (its own level, or the default's), by id."""
    at_lta = Seal.pades_level == "B-LTA"
    if env.pades_level == "B-LTA":
        at_lta = or_(at_lta, Seal.pades_level.is_(None))
    return list(session.execute(
        select(Request.id).join(Seal, Seal.id == Request.seal_id)
        .where(Request.status == RequestStatus.sealed, Request.sealed_document_id.is_not(None),
               at_lta)
        .order_by(Request.id)).scalars())


def renewal_settings(session: Session) -> signer.LongTermSettings:
    """The validation data a renewal embeds (reads only).

    :raises SealingFailed: no CRL has been published, or the latest has expired.
    """
    return _validation_data(session, "B-LTA")


@dataclass(frozen=True)
class DueDocument:
    """A sealed document whose archive timestamp is due for renewal."""

    request_id: int
    document_id: int
    """The request's sealed document when it was read (a renewal records only over it)."""
    data: bytes
    expires: datetime
    """When the TSA certificate of its newest document timestamp expires."""


@dataclass(frozen=True)
class Renewed:
    """A renewed document, not stored yet."""

    data: bytes
    expires: datetime
    """When the TSA certificate of its new document timestamp expires."""


class RenewalTooShort(Exception):
    """The renewal would leave the document due again: the TSA's own certificate expires
    within the renewal window. A run stops at the first (renew the TSA certificate first)."""


def due_document(session: Session, env: Env, request_id: int,
                 horizon: datetime) -> DueDocument | None:
    """The request's sealed document if its newest document timestamp's TSA certificate
    expires before ``horizon`` (reads only)."""
    req = session.get(Request, request_id)
    if req is None or req.sealed_document is None:
        return None
    sealed = req.sealed_document
    data = documents.read(env, sealed)
    try:
        expires = signer.archive_timestamp_expiry(data)
    except signer.InvalidDocument as exc:
        logger.warning("request %d: the sealed document cannot be read: %s", request_id, exc)
        return None
    if expires is None or expires > horizon:
        return None
    return DueDocument(request_id, sealed.id, data, expires)


def renew(due: DueDocument, *, timestamper: TimeStamper,
          settings: signer.LongTermSettings, horizon: datetime) -> Renewed:
    """Add the old timestamp's validation data and a new document timestamp over everything
    (no database: ask it with no transaction open; the built-in TSA writes in its own).

    :raises signer.SignerError: the document could not be renewed (tried again next run).
    :raises RenewalTooShort: the new timestamp would itself be due before ``horizon``.
    """
    renewed = signer.renew_archive_timestamp(due.data, timestamper=timestamper,
                                             trust_roots=settings.trust_roots,
                                             crls=settings.crls)
    renewed_until = signer.archive_timestamp_expiry(renewed)
    if renewed_until is None or renewed_until <= horizon:
        raise RenewalTooShort(
            f"the TSA's certificate expires at "
            f"{renewed_until.isoformat() if renewed_until else '?'}, within the renewal "
            f"window: renew the TSA certificate, then the documents")
    return Renewed(renewed, renewed_until)


def record_renewal(session: Session, env: Env, due: DueDocument, renewed: Renewed) -> bool:
    """Store the renewed PDF and point the request at it; False if its sealed document changed
    meanwhile (the result is dropped)."""
    req = lock_request(session, due.request_id)
    if req is None or req.sealed_document_id != due.document_id:
        logger.warning("request %d: the sealed document changed during renewal; result dropped",
                       due.request_id)
        return False
    old = req.sealed_document
    if old is None:  # the id matched: the row exists; a type checker can not know it
        return False
    new = documents.store(session, env, renewed.data, old.pages, old.page_refs or ())
    req.sealed_document_id = new.id
    req.updated_at = utcnow()
    audit.record(session, "document.archive_timestamp_renewed", request_id=req.id,
                 seal_id=req.seal_id, old_sha256=old.sha256, new_sha256=new.sha256,
                 previous_expiry=due.expires.isoformat(), expires=renewed.expires.isoformat())
    logger.info("request %d: archive timestamp renewed (%s -> %s)", req.id, old.sha256,
                new.sha256)
    return True


# Why a timestamp could not be had (signer.TimestampUnavailable.reason), as the sentence a
# person reads in their language; the signer's English detail goes to the log.
_TIMESTAMP_PROBLEMS = {
    "unreachable": msg("the timestamp service could not be reached"),
    "timeout": msg("the timestamp service did not answer in time"),
    "not_a_reply": msg("the timestamp service's reply is not a timestamp reply"),
    "not_recorded": msg("the timestamp could not be recorded in the serial register"),
}


def timestamp_problem(exc: signer.TimestampUnavailable) -> Message:
    """Why the timestamp service gave no usable answer, in words the app translates; its own
    (English) detail only where it gave no reason."""
    logger.info("no timestamp (%s): %s", exc.reason, exc)
    if exc.reason == "busy":
        return msg("the timestamp service did not answer: HTTP %(status)s", status=exc.status)
    said = _TIMESTAMP_PROBLEMS.get(exc.reason or "")
    return said if said is not None else msg("no timestamp: %(detail)s", detail=str(exc))
