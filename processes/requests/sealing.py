"""Sealing an authorized request: lease the grant, re-check, sign, record; a grant seals once.

The steps of the sealing job, which ``app.jobs.seal_grant`` runs each in a transaction of its
own (the job owns them; these flush, never commit): the lease (``grant_leases``);
:func:`sign`, with no write transaction open (signing is the slow part); then
:func:`record_sealed`, or
:func:`record_halt` or :func:`record_failure` when :func:`sign` refused, or
:func:`record_timestamp_wait` when the timestamp could not be had now (the grant tries again
later, with backoff, a bounded number of times). A worker that dies
leaves a lease that expires; the grant is then taken again. Recording checks the grant is still
ours and unconsumed, and the sealed-document column is unique, so a grant never seals twice. It
also checks again, holding the request's row lock, that the request is still authorized and the
seal still active and valid: a seal suspended, voided, revoked or expired, or a request
withdrawn, while the PDF was being signed drops the signed result.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import EllipsisType

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer, lazyload, load_only

import signer
from processes import audit, documents, notices, signals
from processes.db import on_commit, update_now
from processes.env import Env
from processes.errors import InvalidContent, SealingFailed, msg, stored_reason
from processes.models import (
    Document,
    GrantStatus,
    Request,
    RequestStatus,
    Seal,
    SealStatus,
    SigningGrant,
    utcnow,
)
from processes.requests import placement
from processes.requests.grant_leases import Lease
from processes.requests.sealing_refusals import (  # noqa: F401 - named as sealing.*
    RefuseToSeal,
    RequestMovedOn,
    SealHalted,
    TimestampDelayed,
)
from processes.seal_models import SealPolicy
from processes.seals import long_term, policy, refusals
from processes.seals.registry import signer_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sealed:
    """What :func:`sign` made, its file written: the bytes, their SHA-256, the pages they share
    with the approved document (an incremental update of it), its timestamp's time (B-B: None),
    the serial of the certificate that signed."""

    data: bytes
    sha256: str
    pages: int
    page_refs: list[list[int]] | None
    timestamped_at: datetime | None = None
    certificate_serial: str | None = None


@functools.lru_cache(maxsize=64)
def _validity(cert_pem: bytes) -> tuple[datetime, datetime]:
    """A certificate's validity window, parsed once per process and certificate."""
    cert = signer.certificate_from_pem(cert_pem)
    return cert.not_valid_before_utc, cert.not_valid_after_utc


def _standing(session: Session, grant: SigningGrant, req: Request, seal: Seal,
              seal_policy: SealPolicy | None | EllipsisType = ...) -> RefuseToSeal | None:
    """Whether this grant may seal now: None, or why not. Run before signing and again, under
    the request's lock, before the result is recorded (a seal suspended or a request withdrawn
    while the PDF was being signed counts)."""
    if req.status == RequestStatus.halted:
        return SealHalted(msg("request %(request)s is halted: seal %(seal)s is suspended",
                              request=req.id, seal=seal.id))
    if req.status != RequestStatus.authorized:
        return RequestMovedOn(f"request {req.id} is {req.status.value}, no longer authorized")
    if seal.status == SealStatus.suspended:
        return SealHalted(msg("seal %(seal)s is suspended", seal=seal.id))
    if seal.status != SealStatus.active:
        return RefuseToSeal(msg("seal %(seal)s is %(status)s", seal=seal.id,
                                status=seal.status.value))
    now = utcnow()
    not_before, not_after = _validity(seal.cert_pem)
    if not not_before <= now < not_after:
        return RefuseToSeal(msg("the certificate of seal %(seal)s is not valid now (valid "
                                "%(not_before)s to %(not_after)s): expired or not yet valid",
                                seal=seal.id, not_before=not_before.isoformat(),
                                not_after=not_after.isoformat()))
    reason = policy.check_at_sealing(session, seal, grant, req.requester_id, now=now,
                                     seal_policy=seal_policy)
    if reason:
        refused = RefuseToSeal(msg("the seal's policy refuses this use at sealing time: "
                                   "%(reason)s", reason=reason))
        refused.rule = getattr(reason, "rule", None)
        return refused
    return None


def approved_document(req: Request) -> Document:
    """The document a grant is for: a request to use a seal always has one (only lifecycle
    requests, which get no grant, carry none)."""
    if req.document is None:
        raise RefuseToSeal(msg("request %(request)s carries no document to seal", request=req.id))
    return req.document


def _check(session: Session, grant: SigningGrant, req: Request, seal: Seal,
           seal_policy: SealPolicy | None) -> None:
    problem = _standing(session, grant, req, seal, seal_policy)
    if problem is not None:
        raise problem
    if approved_document(req).sha256 != grant.document_sha256:
        raise RefuseToSeal(msg("the document changed after it was approved"))


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


# What signing reads, in one statement: the grant, its request (with its process, requester
# and document: joined relationships), its seal and the seal's policy. The seal's custodians
# are read only for a policy that demands a custodian's approval (then, by check_at_sealing),
# not with every seal (a query of its own, 1-2 ms a seal); the instance's state, the form's
# data and the seal's PNG are not needed.
_TO_SIGN = (
    select(SigningGrant, Request, Seal, SealPolicy)
    .join(Request, Request.id == SigningGrant.request_id)
    .join(Seal, Seal.id == SigningGrant.seal_id)
    .outerjoin(SealPolicy, SealPolicy.seal_id == SigningGrant.seal_id)
    .where(SigningGrant.id == bindparam("grant_id"))
    .options(defer(Request.state), defer(Request.data), defer(Seal.appearance_png),
             defer(Seal.csr_pem), lazyload(Seal.custodians)))


def sign(session: Session, env: Env, lease: Lease) -> Sealed:
    """Re-check and produce the sealed PDF, its file written (the database is only read;
    raises RefuseToSeal)."""
    grant, req, seal, seal_policy = session.execute(
        _TO_SIGN, {"grant_id": lease.grant_id}).one()
    _check(session, grant, req, seal, seal_policy)
    document = approved_document(req)
    data = documents.read(env, document)
    page_refs = [(ref[0], ref[1]) for ref in document.page_refs or ()]
    try:
        placement.confirm(req.placement, data, page_refs)  # the stamp will be seen
    except InvalidContent as exc:
        raise RefuseToSeal(msg("placement: %(message)s", message=exc.message)) from None
    square = placement.square_of(req.placement)
    settings = placement.settings_of(
        req.placement, f"Seal{req.id}", name=seal.name, location=env.org_name,
        reason=f"Sealflow request #{req.id} ({req.process.key} v{req.process.version}) "
               f"authorized")
    record = approval_record(env, req, seal, grant, settings.field_name)
    level = long_term.level_of(seal, env)
    try:
        # An external CA's seal validates to that CA's root (its revocation data is not ours
        # to embed: B-LT then carries only the organisation's CRLs).
        long_term_data = long_term.long_term_settings(
            session, level, env.external_ca_roots if seal.chain_pem else ())
    except SealingFailed as exc:
        raise RefuseToSeal(exc.message) from None
    try:
        with signer.recorded_timestamps() as stamps:
            sealed = signer.seal_pdf(data, expected_sha256=grant.document_sha256,
                                   signer=signer_for(session, env, seal),
                                   appearance_pdf=seal.appearance_pdf, placement=square,
                                   settings=settings,
                                   timestamper=long_term.timestamper_for(env, level, session),
                                   approval_record=record, long_term=long_term_data,
                                   page_refs=page_refs)
    except signer.TimestampUnavailable as exc:
        raise TimestampDelayed(long_term.timestamp_problem(exc)) from None
    except signer.SignerError as exc:
        raise RefuseToSeal(documents.signing_problem(exc)) from None
    # Here, so that recording holds the write lock for rows only.
    sha256 = documents.write(env, sealed)
    # The signature's token is the first asked (a B-LTA document timestamp comes after it);
    # reading it back from the PDF cost 12 ms a seal.
    stamped = (None if level == "B-B" else stamps[0] if stamps
               else signer.timestamp_time(sealed, settings.field_name))
    return Sealed(sealed, sha256, document.pages, [list(ref) for ref in page_refs] or None,
                  stamped, seal.certificate_serial)


# The grant, its request (row locked to the commit) and its seal, refreshed, with the seal's
# policy and the audit chain's head: one statement, and only the columns recording reads
# (the request's state and the seal's key and pictures are left out). Only the request's row
# is locked here: whoever changes a grant's status holds its request's row (a seal's
# suspension locks its requests, then fails their grants), and the grant's own row is locked
# by the write that consumes it, after the request's, in that same order.
_LOCKED = (
    select(SigningGrant, Request, Seal, SealPolicy, audit.HEAD)
    .join(Request, Request.id == SigningGrant.request_id)
    .join(Seal, Seal.id == SigningGrant.seal_id)
    .outerjoin(SealPolicy, SealPolicy.seal_id == SigningGrant.seal_id)
    .where(SigningGrant.id == bindparam("grant_id"))
    .with_for_update(of=Request)
    .options(load_only(Request.status, Request.requester_id, Request.document_id,
                       Request.sealed_document_id),
             lazyload(Request.process), lazyload(Request.requester),
             lazyload(Request.document), load_only(Seal.status, Seal.cert_pem),
             lazyload(Seal.custodians))
    .execution_options(populate_existing=True))


@dataclass
class _Locked:
    grant: SigningGrant
    req: Request
    seal: Seal
    seal_policy: SealPolicy | None

    def standing(self, session: Session) -> RefuseToSeal | None:
        return _standing(session, self.grant, self.req, self.seal, self.seal_policy)


def _locked(session: Session, lease: Lease) -> _Locked | None:
    """The grant, its request (row lock held to the commit), its seal and the seal's policy as
    they stand now; None when the grant is no longer this lease's."""
    row = session.execute(_LOCKED, {"grant_id": lease.grant_id}).one_or_none()
    if row is None:
        return None
    grant, req, seal, seal_policy, head = row
    audit.remember_head(session, head)
    if grant.status != GrantStatus.pending or grant.attempts != lease.attempt:
        return None
    return _Locked(grant, req, seal, seal_policy)


def record_sealed(session: Session, env: Env, lease: Lease, sealed: Sealed) -> bool:
    """Store the sealed PDF and consume the grant, only if the request is still authorized and
    the seal still active and valid; otherwise the result is dropped (False). Reads one row,
    writes four (the document, the grant, the request, the audit event): the hashing and the
    file were done by :func:`sign`."""
    locked = _locked(session, lease)
    if locked is None or locked.grant.sealed_document_id is not None:
        logger.warning("grant %d was taken over or finished elsewhere; result dropped",
                       lease.grant_id)
        return False
    grant, req = locked.grant, locked.req
    problem = locked.standing(session)
    if problem is not None:
        logger.warning("grant %d: the signed result is dropped: %s", grant.id, problem)
        _settle(session, grant, req, problem)
        return False
    doc_id = documents.store_written(session, sealed.sha256, len(sealed.data), sealed.pages,
                                     sealed.page_refs or ())
    now = utcnow()
    grant.sealed_document_id = doc_id
    grant.status = GrantStatus.consumed
    grant.consumed_at = now
    update_now(session, grant)
    req.sealed_document_id = doc_id
    req.status = RequestStatus.sealed
    req.sealed_at = now
    req.timestamped_at = sealed.timestamped_at
    req.certificate_serial = sealed.certificate_serial
    req.updated_at = now
    update_now(session, req)
    audit.record(session, "request.sealed", request_id=req.id, seal_id=grant.seal_id,
                 grant=grant.id, document_sha256=grant.document_sha256,
                 sealed_sha256=sealed.sha256, certificate_serial=sealed.certificate_serial)
    session.flush()
    notices.request_finished(session, req.requester_id, req.id, "sealed")
    request_id, grant_id = req.id, grant.id
    on_commit(session, lambda: _sealed(request_id, grant_id))
    return True


def _sealed(request_id: int, grant_id: int) -> None:
    """After the commit: said then, and no log write inside the write lock."""
    logger.info("request %d sealed (grant %d)", request_id, grant_id)
    signals.request_finished.send(None, request_id=request_id, status="sealed")


def record_halt(session: Session, lease: Lease) -> None:
    """The seal was suspended after the authorization: wait, holding the grant and its use."""
    locked = _locked(session, lease)
    if locked is None:
        return
    grant, req = locked.grant, locked.req
    problem = locked.standing(session)
    if problem is None:  # resumed meanwhile: free the lease so the job runs again
        grant.lease_until = None
        on_commit(session, lambda: signals.grant_created.send(None, grant_id=grant.id))
        return
    _settle(session, grant, req, problem)


def record_failure(session: Session, lease: Lease, reason: str) -> None:
    """Signing failed for ``reason``; unless, as things stand now, the request waits for its
    seal or has moved on (withdrawn), which then decides."""
    locked = _locked(session, lease)
    if locked is None:
        return
    grant, req = locked.grant, locked.req
    problem = locked.standing(session)
    _settle(session, grant, req, problem if problem is not None else RefuseToSeal(reason))


def record_timestamp_wait(session: Session, env: Env, lease: Lease, reason: str) -> None:
    """The timestamp could not be had for ``reason``: unless the request waits for its seal or
    has moved on, the grant waits (the request stays authorized and says so) and is taken again
    after a backoff (``lease_until``: the sweep takes it then); after the last of
    ``1 + env.tsa_retries`` tries the request fails, its use of the seal released."""
    locked = _locked(session, lease)
    if locked is None:
        return
    grant, req = locked.grant, locked.req
    problem = locked.standing(session)
    if problem is not None:
        _settle(session, grant, req, problem)
        return
    failed = int((grant.waiting or {}).get("try", 1))  # the number of the try that just failed
    tries = env.tsa_retries + 1
    if failed >= tries:
        _settle(session, grant, req, RefuseToSeal(
            msg("signing failed: no timestamp after %(tries)s tries: %(reason)s", tries=tries,
                reason=reason)))
        return
    wait = min(env.tsa_retry_base_seconds * 2 ** (failed - 1), env.tsa_retry_max_seconds)
    next_at = utcnow() + timedelta(seconds=wait)
    grant.lease_until = next_at
    grant.waiting = {"for": "timestamp", "try": failed + 1, "of": tries,
                     "next_at": next_at.isoformat(), "reason": reason, **stored_reason(reason)}
    audit.record(session, "grant.timestamp_retry", request_id=req.id, seal_id=grant.seal_id,
                 grant=grant.id, failed_try=failed, of=tries, next_at=next_at.isoformat(),
                 reason=reason)
    logger.warning("request %d: no timestamp (try %d of %d): %s; next try after %s",
                   req.id, failed, tries, reason, next_at.isoformat())


def _settle(session: Session, grant: SigningGrant, req: Request, problem: RefuseToSeal) -> None:
    """A grant that cannot seal now: it waits (seal suspended), is given up (request moved
    on), or fails with its request (seal voided, revoked or expired; signing failed)."""
    if isinstance(problem, SealHalted):
        grant.lease_until = None
        if req.status == RequestStatus.authorized:
            req.status = RequestStatus.halted
            req.updated_at = utcnow()
            audit.record(session, "request.halted", request_id=req.id, seal_id=grant.seal_id)
        return
    grant.status = GrantStatus.failed
    grant.error = str(problem)
    grant.waiting = None  # a retry by an admin counts its tries afresh
    policy.release(session, grant)
    if isinstance(problem, RequestMovedOn):
        audit.record(session, "grant.dropped", request_id=req.id, seal_id=grant.seal_id,
                     grant=grant.id, reason=str(problem))
        logger.info("grant %d given up: %s", grant.id, problem)
        return
    req.status = RequestStatus.failed
    said = problem.reason
    req.fail_with(said)
    req.updated_at = utcnow()
    if problem.rule is not None:
        refusals.record_of_request(session, req, rule=problem.rule, stage="sealing", reason=problem)
    audit.record(session, "request.failed", request_id=req.id, seal_id=grant.seal_id,
                 grant=grant.id, reason=str(problem))
    notices.request_finished(session, req.requester_id, req.id, "failed", said)
    on_commit(session, lambda: signals.request_finished.send(
        None, request_id=req.id, status="failed"))
    logger.warning("request %d failed to seal: %s", req.id, problem)
