"""What an evidence package holds, read in one reading transaction: the files (all but the
report and the manifest) and what the report says of them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import signer
from processes import audit_proof, documents
from processes.audit_models import AuditAnchor
from processes.env import Env
from processes.errors import NotFound, WorkflowStateError, msg
from processes.evidence import names
from processes.models import AuditEvent, ProcessDefinition, Request, RequestStatus, SigningGrant
from processes.pki.authorities import ca_certificates
from processes.pki_models import PublishedCrl
from processes.requests import views


class NotSealed(WorkflowStateError):
    """Only a sealed request has an evidence package."""

    code = "not_sealed"


class NoAnchor(WorkflowStateError):
    """No anchor covers the request's last event yet: anchor the chain, then export."""

    code = "no_anchor"


@dataclass
class Contents:
    request_id: int
    files: dict[str, bytes]
    summary: dict[str, Any] = field(default_factory=dict)


def sealed_request(session: Session, request_id: int) -> Request:
    """The request, if it is sealed.

    :raises NotFound: no such request.
    :raises NotSealed: it is not sealed (yet, or ever)."""
    req = session.get(Request, request_id)
    if req is None:
        raise NotFound(msg("no request %(request_id)s", request_id=request_id))
    if req.status != RequestStatus.sealed or req.sealed_document is None:
        raise NotSealed(msg("request %(request_id)s is %(status)s: only a sealed request has "
                            "an evidence package", request_id=request_id,
                            status=req.status.value))
    return req


READS = ("document.downloaded", "document.verified", "request.evidence_exported",
         "share.opened", "share.downloaded", "share.password_refused", "share.locked")
"""The events that only read a sealed request (or try to): a package need not wait for an
anchor over them. Were they counted, each export (itself such an event) would need a new
anchor, a call to the TSA, before the next one."""


def last_event(session: Session, request_id: int) -> int | None:
    """The request's last event that changed something (not one of :data:`READS`)."""
    return session.execute(select(func.max(AuditEvent.seq)).where(
        AuditEvent.request_id == request_id, AuditEvent.action.not_in(READS))).scalar()


def covering_anchor(session: Session, request_id: int) -> AuditAnchor | None:
    """The nearest anchor at or after the request's last event that changed something (the
    package proves its events up to that anchor: reads after it wait for a later package);
    None when there is none yet."""
    last = last_event(session, request_id)
    if last is None:
        return None
    return session.execute(select(AuditAnchor).where(AuditAnchor.seq >= last)
                           .order_by(AuditAnchor.seq).limit(1)).scalar()


def _der(pem: bytes) -> bytes:
    return signer.certificate_from_pem(pem).public_bytes(Encoding.DER)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1,
                      default=str).encode("utf-8")


def _crls(session: Session, sealed_at: Any) -> dict[str, bytes]:
    """Per issuer: the CRL current when the request was sealed, if kept, and the latest (it
    says the certificates were still good, or since when they were not)."""
    rows = session.execute(select(PublishedCrl.id, PublishedCrl.issuer, PublishedCrl.number,
                                  PublishedCrl.this_update)
                           .order_by(PublishedCrl.issuer, PublishedCrl.number)).all()
    wanted: dict[int, tuple[str, int]] = {}
    for issuer in {row.issuer for row in rows}:
        own = [row for row in rows if row.issuer == issuer]
        then = [row for row in own if row.this_update <= sealed_at]
        for row in ([then[-1]] if then else []) + [own[-1]]:
            wanted[row.id] = (issuer, row.number)
    if not wanted:
        return {}
    ders = dict(session.execute(select(PublishedCrl.id, PublishedCrl.der)
                                .where(PublishedCrl.id.in_(wanted))).tuples().all())
    return {names.crl(*wanted[i]): bytes(ders[i]) for i in wanted}


def gather(session: Session, env: Env, request_id: int) -> Contents:
    """Every file of the package but the report and the manifest, read now.

    :raises NotSealed: the request is not sealed.
    :raises NoAnchor: no anchor covers its last event yet.
    :raises NotFound: a stored file is missing."""
    req = sealed_request(session, request_id)
    anchor = covering_anchor(session, request_id)
    if anchor is None:
        raise NoAnchor(msg("no anchor of the audit chain covers request %(request_id)s's last "
                           "event yet: run `sealflow audit anchor`", request_id=request_id))
    try:
        run = audit_proof.build(session, request_id, anchor.seq)
    except ValueError as exc:
        raise NoAnchor(msg("the audit chain cannot prove request %(request_id)s's events: "
                           "%(reason)s", request_id=request_id, reason=str(exc))) from None
    grant = session.execute(select(SigningGrant).where(
        SigningGrant.request_id == request_id)).scalar_one()
    assert req.document is not None and req.sealed_document is not None  # sealed: both
    original = documents.read(env, req.document)
    sealed = documents.read(env, req.sealed_document)
    files = {names.ORIGINAL: original, names.SEALED: sealed}
    process = session.execute(select(ProcessDefinition.files, ProcessDefinition.sha256).where(
        ProcessDefinition.id == req.process_id)).one()
    for filename, text in sorted(process.files.items()):
        files[names.process_file(filename)] = text.encode("utf-8") \
            if isinstance(text, str) else bytes(text)
    described = views.describe(session, req)
    history = {
        "request": described,
        "process": {"key": req.process.key, "version": req.process.version,
                    "name": req.process.name, "sha256": process.sha256,
                    "files": sorted(process.files),
                    "forms": {element: meta.get("form", [])
                              for element, meta in (req.process.tasks or {}).items()},
                    "start_form": req.process.start_form},
        "approved_sha256": grant.document_sha256,
        "approvals": grant.approvals,
        "authorized_at": grant.created_at.isoformat(),
        "sealed_at": req.sealed_at.isoformat() if req.sealed_at else None,
        "sealed_sha256": req.sealed_document.sha256,
    }
    files[names.HISTORY] = _json(history)
    files[names.ANCHOR_TOKEN] = bytes(anchor.token)
    files[names.AUDIT] = _json({
        "request_id": request_id,
        "anchor": {"seq": anchor.seq, "hash": anchor.hash,
                   "stamped_at": anchor.stamped_at.isoformat(), "token": names.ANCHOR_TOKEN},
        "run": run})
    tokens = signer.embedded_tokens(sealed)
    tsa_certs: list[bytes] = []
    for number, token in enumerate(tokens, start=1):
        files[names.token(token.kind, number)] = token.der
        tsa_certs += signer.token_certificates(token.der)
    tsa_certs += signer.token_certificates(bytes(anchor.token))
    seal = req.seal
    assert seal is not None  # a sealed request used one
    files[names.certificate("seal")] = bytes(seal.cert_pem)
    chain = [bytes(pem) for pem in ca_certificates(session)]
    for kind, pem in zip(("root-ca", "issuing-ca"), chain, strict=False):
        files[names.certificate(kind)] = pem
    known = {_der(pem) for pem in chain}
    for pem in dict.fromkeys(tsa_certs):  # the TSA's (its tokens carry the CA's too)
        if _der(pem) not in known:
            known.add(_der(pem))
            files[names.certificate("tsa-" + hashlib.sha256(_der(pem)).hexdigest()[:12])] = pem
    if seal.chain_pem:
        files[names.certificate("seal-chain")] = bytes(seal.chain_pem)
    files.update(_crls(session, req.sealed_at))
    summary = {
        "request": request_id, "organisation": env.org_name, "filename": req.filename,
        "business_type": req.business_type, "requester": described["requester"],
        "purpose": (req.data or {}).get("purpose"),
        "process": history["process"], "seal": {
            "name": seal.name, "type": seal.type,
            "certificate_serial": seal.certificate_serial},
        "approved_sha256": grant.document_sha256, "sealed_sha256": req.sealed_document.sha256,
        "sealed_at": history["sealed_at"], "pages": req.document.pages,
        "decisions": described["history"],
        "events": sum(1 for item in run if "content" not in item),
        "run": len(run), "anchor": {"seq": anchor.seq, "hash": anchor.hash,
                                    "stamped_at": anchor.stamped_at.isoformat()},
        "timestamps": [{"kind": t.kind, "time": t.time.isoformat() if t.time else None}
                       for t in tokens],
    }
    return Contents(request_id, files, summary)
