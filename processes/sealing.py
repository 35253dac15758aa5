"""Sealing an authorized request: lease the grant, re-check, sign, record; a grant seals once.

The job (``run_grant``) has three steps, each its own short transaction or none: take the lease,
sign with no database transaction open (signing is the slow part), then record the result. A
worker that dies leaves a lease that expires; the grant is then taken again. Recording checks
the grant is still ours and unconsumed, and the sealed-document column is unique, so a grant
never seals twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

import signer
from processes import audit, documents, ltv, placement, policy, signals
from processes.db import lock_request, on_commit, unit_of_work
from processes.env import Env
from processes.errors import SealingFailed
from processes.models import (
    GrantStatus,
    Request,
    RequestStatus,
    Seal,
    SealStatus,
    SigningGrant,
    utcnow,
)
from processes.seals import signer_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lease:
    grant_id: int
    attempt: int


class RefuseToSeal(Exception):
    """A re-check at sealing time failed; the request becomes ``failed`` with this reason."""


def due_grants(session: Session, limit: int = 20) -> list[int]:
    """Grants waiting to be sealed whose lease is free or expired."""
    now = utcnow()
    return list(session.execute(
        select(SigningGrant.id).join(Request, Request.id == SigningGrant.request_id).where(
            SigningGrant.status == GrantStatus.pending, Request.status != RequestStatus.halted,
            or_(SigningGrant.lease_until.is_(None), SigningGrant.lease_until < now))
        .order_by(SigningGrant.id).limit(limit)).scalars())


def take_lease(session: Session, grant_id: int, lease_seconds: int) -> Lease | None:
    """Atomically lease a pending grant (None when another worker holds it or it is done)."""
    now = utcnow()
    result = session.execute(
        update(SigningGrant)
        .where(SigningGrant.id == grant_id, SigningGrant.status == GrantStatus.pending,
               or_(SigningGrant.lease_until.is_(None), SigningGrant.lease_until < now))
        .values(lease_until=now + timedelta(seconds=lease_seconds),
                attempts=SigningGrant.attempts + 1)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return None
    attempt = session.execute(
        select(SigningGrant.attempts).where(SigningGrant.id == grant_id)).scalar_one()
    return Lease(grant_id, attempt)


class SealHalted(RefuseToSeal):
    """The seal is suspended: the request waits (``halted``) until it is resumed."""


def _check(session: Session, grant: SigningGrant, req: Request, seal: Seal) -> None:
    if req.status != RequestStatus.authorized:
        raise RefuseToSeal(f"request {req.id} is {req.status.value}, not authorized")
    if seal.status == SealStatus.suspended:
        raise SealHalted(f"seal {seal.id} is suspended")
    if seal.status != SealStatus.active:
        raise RefuseToSeal(f"seal {seal.id} is {seal.status.value}")
    if req.document.sha256 != grant.document_sha256:
        raise RefuseToSeal("the document changed after it was approved")
    reason = policy.check_at_sealing(session, seal, grant, req.requester_id)
    if reason:
        raise RefuseToSeal(f"the seal's policy refuses this use at sealing time: {reason}")


def approval_record(env: Env, req: Request, seal: Seal, grant: SigningGrant,
                    field: str) -> bytes:
    """What travels inside the seal's signature: who authorized this use, on which bytes, by
    which flow; the PDF alone then proves it (``/verify`` shows it)."""
    return json.dumps({
        "sealflow_approval_record": 1,
        "field": field,
        "organisation": env.org_name,
        "request": req.id,
        "process": {"key": req.process.key, "version": req.process.version},
        "business_type": req.business_type,
        "requester": req.requester.name,
        "seal": {"id": seal.id, "name": seal.name, "type": seal.type,
                 "certificate_serial": seal.certificate_serial},
        "document_sha256": grant.document_sha256,
        "approvals": grant.approvals,
        "authorized_at": grant.created_at.isoformat(),
    }, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def sign(session: Session, env: Env, lease: Lease) -> bytes:
    """Re-check and produce the sealed PDF (reads only; raises RefuseToSeal)."""
    grant = session.get(SigningGrant, lease.grant_id)
    req = session.get(Request, grant.request_id)
    seal = session.get(Seal, grant.seal_id)
    _check(session, grant, req, seal)
    data = documents.read(env, req.document)
    square = placement.square_of(req.placement)
    settings = placement.settings_of(
        req.placement, f"Seal{req.id}", name=seal.name, location=env.org_name,
        reason=f"Sealflow request #{req.id} ({req.process.key} v{req.process.version}) "
               f"authorized")
    record = approval_record(env, req, seal, grant, settings.field_name)
    level = ltv.level_of(seal, env)
    try:
        # An external CA's seal validates to that CA's root (its revocation data is not ours
        # to embed: B-LT then carries only the organisation's CRLs).
        long_term = ltv.long_term_settings(
            session, level, env.external_ca_roots if seal.chain_pem else ())
    except SealingFailed as exc:
        raise RefuseToSeal(exc.message) from None
    try:
        return signer.seal_pdf(data, expected_sha256=grant.document_sha256,
                               signer=signer_for(session, env, seal),
                               appearance_pdf=seal.appearance_pdf, placement=square,
                               settings=settings,
                               timestamper=ltv.timestamper_for(env, level, session),
                               approval_record=record, long_term=long_term,
                               page_refs=req.document.page_refs or ())
    except signer.HashMismatch as exc:
        raise RefuseToSeal(f"hash mismatch: {exc}") from None
    except signer.SignerError as exc:
        raise RefuseToSeal(f"signing failed: {exc}") from None


def record_sealed(session: Session, env: Env, lease: Lease, sealed: bytes) -> bool:
    """Store the sealed PDF and consume the grant; False if the grant is no longer ours."""
    grant = session.get(SigningGrant, lease.grant_id, with_for_update=True,
                        populate_existing=True)
    req = lock_request(session, grant.request_id)
    if (grant.status != GrantStatus.pending or grant.attempts != lease.attempt
            or grant.sealed_document_id is not None):
        logger.warning("grant %d was taken over or finished elsewhere; result dropped",
                       grant.id)
        return False
    # An incremental update of the approved document: the same pages, the same page objects.
    doc = documents.store(session, env, sealed, req.document.pages,
                          req.document.page_refs or ())
    now = utcnow()
    grant.sealed_document_id = doc.id
    grant.status = GrantStatus.consumed
    grant.consumed_at = now
    req.sealed_document_id = doc.id
    req.status = RequestStatus.sealed
    req.sealed_at = now
    req.updated_at = now
    audit.record(session, "request.sealed", request_id=req.id, seal_id=grant.seal_id,
                 grant=grant.id, document_sha256=grant.document_sha256,
                 sealed_sha256=doc.sha256)
    session.flush()
    on_commit(session, lambda: signals.request_finished.send(
        None, request_id=req.id, status="sealed"))
    logger.info("request %d sealed (grant %d)", req.id, grant.id)
    return True


def record_halt(session: Session, lease: Lease) -> None:
    """The seal was suspended after the authorization: wait, holding the grant and its use."""
    grant = session.get(SigningGrant, lease.grant_id, with_for_update=True,
                        populate_existing=True)
    req = lock_request(session, grant.request_id)
    if grant.status != GrantStatus.pending or grant.attempts != lease.attempt:
        return
    grant.lease_until = None
    if req.status == RequestStatus.authorized:
        req.status = RequestStatus.halted
        req.updated_at = utcnow()
        audit.record(session, "request.halted", request_id=req.id, seal_id=grant.seal_id)


def record_failure(session: Session, lease: Lease, reason: str) -> None:
    grant = session.get(SigningGrant, lease.grant_id, with_for_update=True,
                        populate_existing=True)
    req = lock_request(session, grant.request_id)
    if grant.status != GrantStatus.pending or grant.attempts != lease.attempt:
        return
    grant.status = GrantStatus.failed
    grant.error = reason
    policy.release(session, grant)
    req.status = RequestStatus.failed
    req.failure = reason
    req.updated_at = utcnow()
    audit.record(session, "request.failed", request_id=req.id, seal_id=grant.seal_id,
                 grant=grant.id, reason=reason)
    on_commit(session, lambda: signals.request_finished.send(
        None, request_id=req.id, status="failed"))
    logger.warning("request %d failed to seal: %s", req.id, reason)


def run_grant(session: Session, env: Env, grant_id: int) -> bool:
    """The sealing job for one grant: lease, sign, record. True when it sealed."""
    with unit_of_work(session):
        lease = take_lease(session, grant_id, env.lease_seconds)
    if lease is None:
        return False
    try:
        with unit_of_work(session, write=False):
            sealed = sign(session, env, lease)
    except SealHalted:
        with unit_of_work(session):
            record_halt(session, lease)
        return False
    except RefuseToSeal as exc:
        with unit_of_work(session):
            record_failure(session, lease, str(exc))
        return False
    with unit_of_work(session):
        return record_sealed(session, env, lease, sealed)
