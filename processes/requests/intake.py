"""Requests in and out: filing one (checked, stored, its instance started) and withdrawing it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import signer
from processes import audit, documents, signals
from processes.db import lock_request, on_commit
from processes.env import Env
from processes.errors import (
    BadInput,
    InvalidContent,
    NotAllowed,
    NotFound,
    SealflowError,
    WorkflowStateError,
)
from processes.flows import definitions, engine
from processes.flows.engine import EngineIncident, StateUnreadable
from processes.models import (
    BusinessType,
    Group,
    IdempotencyKey,
    Membership,
    ProcessDefinition,
    Request,
    RequestStatus,
    SealStatus,
    Task,
    TaskStatus,
    User,
    utcnow,
)
from processes.people.directory import Identity, get_user
from processes.requests import lifecycle_requests, placement
from processes.requests.advancing import advance, mark_incident
from processes.requests.forms import check_values
from processes.requests.queries import get_visible
from processes.seal_models import Authority
from processes.seals import approvals, authority, policy
from processes.seals.registry import get_seal

logger = logging.getLogger(__name__)


WITHDRAW_SIGNAL = "withdraw"
@dataclass
class NewRequest:
    """What a requester submits (already parsed from the form or the multipart body)."""

    seal_id: int | None
    document: bytes | None
    filename: str
    process: str | None = None
    business_type: str | None = None
    data: dict[str, Any] | None = None
    placement: dict[str, Any] | None = None
    on_behalf_of: str | None = None
    from_request: int | None = None
    idempotency_key: str | None = None


def _definition_for(session: Session, new: NewRequest) -> tuple[ProcessDefinition, str | None]:
    """The flow and the business type of a new request. The business type comes from the
    mapping of business types to flows: one named must map to the process named with it, and a
    request naming only a process has the type that maps to it (when exactly one does)."""
    if new.business_type:
        bt = session.execute(select(BusinessType).where(
            BusinessType.key == new.business_type)).scalar_one_or_none()
        if bt is None:
            raise InvalidContent(f"unknown business type {new.business_type!r}",
                                 [{"field": "business_type", "message": "unknown"}])
        if new.process and new.process != bt.process_key:
            message = (f"business type {bt.key!r} is handled by flow {bt.process_key!r}, "
                       f"not {new.process!r}")
            raise InvalidContent(message, [{"field": "business_type", "message": message}])
        return definitions.latest(session, bt.process_key), bt.key
    if new.process:
        definition = definitions.latest(session, new.process)
        mapped = list(session.execute(select(BusinessType.key).where(
            BusinessType.process_key == new.process)).scalars())
        return definition, mapped[0] if len(mapped) == 1 else None
    raise InvalidContent("name the flow: `process` (a process key) or `business_type`",
                         [{"field": "process", "message": "process or business_type is required"}])


def builtins(session: Session, requester: User, seal, business_type: str | None,
              pages: int) -> dict[str, Any]:
    groups = list(session.execute(
        select(Group).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == requester.id)).scalars())
    head_ids = {g.head_id for g in groups if g.head_id}
    heads = sorted(session.execute(select(User.name).where(User.id.in_(head_ids))).scalars()) \
        if head_ids else []
    return {"requester": requester.name, "requester_groups": sorted(g.key for g in groups),
            "requester_heads": heads, "business_type": business_type,
            "seal": seal.id if seal is not None else None,
            "seal_type": seal.type if seal is not None else None,
            "seal_custodians": [u.name for u in seal.custodians] if seal is not None else [],
            "document_pages": pages}


def _seal_for(session: Session, definition: ProcessDefinition, seal_id: int | None):
    """The seal a request is for: an active one to use; for a lifecycle flow, the seal it
    changes (any status the change can start from), or none for a flow that makes one."""
    if definition.seal_action == "make":
        if seal_id is not None:
            raise InvalidContent("a request to make a seal names no existing seal",
                                 [{"field": "seal", "message": "must be empty"}])
        return None
    if seal_id is None:
        raise InvalidContent("seal is required", [{"field": "seal", "message": "required"}])
    seal = get_seal(session, seal_id, share=True)
    usable = (SealStatus.active,) if definition.seal_action is None else (
        SealStatus.active, SealStatus.suspended)
    if seal.status not in usable:
        raise InvalidContent(f"seal {seal.id} is {seal.status.value} and cannot be used",
                             [{"field": "seal", "message": f"seal is {seal.status.value}"}])
    if definition.seal_action == "resume":
        # Said now rather than after every approver has worked on it: no flow lifts an
        # administrator's suspension (checked again when the change is made).
        refused = authority.refusal(session, seal, SealStatus.active, Authority.flow)
        if refused is not None:
            raise refused
    return seal


@dataclass(frozen=True)
class ReadDocument:
    """A new request's PDF as :func:`read_document` found it: inspected and its placement
    planned, its file written; or the problem found at either step (raised by :func:`create`
    at the point it would have been found there)."""

    data: bytes
    info: signer.PdfInfo | None = None
    planned: dict[str, Any] | None = None
    unreadable: SealflowError | None = None  # not a PDF we can seal, or too large
    misplaced: SealflowError | None = None  # the placement does not fit the document


def read_document(env: Env, new: NewRequest) -> ReadDocument | None:
    """The slow part of filing a request, which needs no database: read the uploaded PDF (its
    pages, fields and layout; the placement planned on them) and write its file. Called before
    the writing transaction begins, so that no lock (SQLite's write lock; on PostgreSQL the
    rows' and the audit chain's) is held meanwhile; :func:`create` uses the result. None when
    the request brings no PDF of its own (``from_request``: read inside, once the earlier one
    is seen)."""
    if not new.document or new.from_request is not None:
        return None
    return _read(env, new.document, new.placement)


def _read(env: Env, data: bytes, raw_placement: Any) -> ReadDocument:
    try:
        info = documents.inspect(env, data)
    except SealflowError as exc:
        return ReadDocument(data, unreadable=exc)
    try:
        planned = placement.plan(raw_placement, info, data)
    except signer.InvalidDocument as exc:
        return ReadDocument(data, info, misplaced=InvalidContent(
            str(exc), [{"field": "document", "message": str(exc)}]))
    except SealflowError as exc:
        return ReadDocument(data, info, misplaced=exc)
    # Written now, not under the lock: a request refused after this leaves the file behind, as
    # a rollback does (processes/documents.py), never a row without its file.
    documents.write(env, data)
    return ReadDocument(data, info, planned)


def create(session: Session, env: Env, identity: Identity, new: NewRequest,
           read: ReadDocument | None = None) -> Request:
    """Check, store and start a request; the engine runs until it waits. ``read``: what
    :func:`read_document` found of ``new``'s PDF before the transaction (read here if None)."""
    requester = identity.user
    if new.on_behalf_of:
        if identity.scopes is None or "act_as" not in identity.scopes:
            raise NotAllowed("on_behalf_of needs a token with the act_as scope")
        requester = get_user(session, new.on_behalf_of)
        if not requester.active:
            raise InvalidContent("on_behalf_of names an inactive user",
                                 [{"field": "on_behalf_of", "message": "inactive"}])
    if new.idempotency_key:
        earlier = session.execute(select(IdempotencyKey).where(
            IdempotencyKey.user_id == identity.user.id,
            IdempotencyKey.key == new.idempotency_key)).scalar_one_or_none()
        if earlier is not None:
            return session.get_one(Request, earlier.request_id)
    definition, business_type = _definition_for(session, new)
    seal = _seal_for(session, definition, new.seal_id)
    doc, planned, pages = None, None, 0
    if definition.seal_action is None:
        data_bytes = _document_bytes(session, env, identity, new)
        if read is None or read.data is not data_bytes:
            read = _read(env, data_bytes, new.placement)
        if read.unreadable is not None:
            raise read.unreadable
        info = cast(signer.PdfInfo, read.info)
        policy.check_use(session, seal, requester, business_type, definition,
                         pages=info.pages, size=len(data_bytes))
        if read.misplaced is not None:
            raise read.misplaced
        planned, pages = read.planned, info.pages
    else:
        lifecycle_requests.refuse_document(new)
    data = check_values(definition.start_form, new.data or {}, extra_allowed=True)
    variables = {**data, **builtins(session, requester, seal, business_type, pages)}
    variables.update(lifecycle_requests.plan(session, definition.seal_action, data))
    if definition.seal_action is None:
        doc = documents.store(session, env, data_bytes, info.pages, info.page_refs)
    req = Request(status=RequestStatus.running, process=definition, business_type=business_type,
                  seal_id=seal.id if seal else None, requester_id=requester.id,
                  created_by_id=identity.user.id,
                  document=doc, filename=_filename(new.filename) if doc else "",
                  placement=planned, data=data, state="", state_version="")
    session.add(req)
    session.flush()
    audit.record(session, "request.created", actor=identity.user, request_id=req.id,
                 seal_id=req.seal_id, process=definition.key, version=definition.version,
                 business_type=business_type, subject_sha256=approvals.subject_sha256(req),
                 document=doc is not None, requester=requester.name)
    try:
        wf = engine.start(definition, variables)
    except EngineIncident as exc:
        mark_incident(session, req, exc)
        return req
    advance(session, req, wf, actor=identity.user)
    if new.idempotency_key:
        session.add(IdempotencyKey(user_id=identity.user.id, key=new.idempotency_key,
                                   request_id=req.id))
        try:
            session.flush()
        except IntegrityError:
            raise WorkflowStateError(
                "a request with this Idempotency-Key is being created") from None
    logger.info("request %d created by %s (process %s v%d)", req.id, identity.user.name,
                definition.key, definition.version)
    return req


def _filename(name: str | None) -> str:
    name = (name or "document.pdf").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return (name or "document.pdf")[:300]


def _document_bytes(session: Session, env: Env, identity: Identity, new: NewRequest) -> bytes:
    if new.from_request is not None:
        if new.document is not None:
            raise BadInput("give either document or from_request, not both")
        earlier = get_visible(session, identity, new.from_request)
        if earlier.status != RequestStatus.sealed or earlier.sealed_document is None:
            raise WorkflowStateError(f"request {earlier.id} is not sealed")
        return documents.read(env, earlier.sealed_document)
    if not new.document:
        raise InvalidContent("a PDF document is required",
                             [{"field": "document", "message": "is required"}])
    return new.document


def withdraw(session: Session, identity: Identity, request_id: int) -> Request:
    req = get_visible(session, identity, request_id)
    if req.requester_id != identity.user.id:
        raise NotAllowed("only the requester may withdraw a request")
    locked = lock_request(session, request_id)
    if locked is None:  # visible a moment ago, and requests are never deleted
        raise NotFound(f"no request {request_id}")
    req = locked
    if req.status not in (RequestStatus.running, RequestStatus.halted, RequestStatus.incident):
        raise WorkflowStateError(f"request {req.id} is {req.status.value}; only a running "
                                 "request can be withdrawn")
    try:
        wf = engine.load(req.process, req.state) if req.state else None
    except StateUnreadable:
        wf = None  # the request ends all the same; there is no instance to cancel
    # A flow may catch the withdraw signal (to notify someone, say); whatever it does, the
    # request ends here: what is left of the instance is cancelled.
    caught = False
    if wf is not None and req.status == RequestStatus.running:
        try:
            caught = engine.throw_signal(wf, WITHDRAW_SIGNAL)
        except EngineIncident as exc:
            logger.warning("withdraw signal of request %d stopped at %s: %s", req.id,
                           exc.element, exc.message)
    if wf is not None and not wf.is_completed():
        wf.cancel()
    req.status = RequestStatus.withdrawn
    req.timer_due_at = None
    for task in session.execute(select(Task).where(
            Task.request_id == req.id, Task.status == TaskStatus.open)).scalars():
        task.status = TaskStatus.cancelled
        task.completed_at = utcnow()
    if wf is not None:
        engine.save(req, wf)
    req.updated_at = utcnow()
    audit.record(session, "request.withdrawn", actor=identity.user, request_id=req.id,
                 signal_caught=caught)
    on_commit(session, lambda: signals.request_finished.send(
        None, request_id=req.id, status="withdrawn"))
    return req
