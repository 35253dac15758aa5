"""Requests in and out: filing one (checked, stored, its instance started) and withdrawing it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, cast

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import signer
from processes import audit, documents
from processes.db import insert_now, serialize_on, update_now
from processes.env import Env
from processes.errors import (
    BadInput,
    InvalidContent,
    NotAllowed,
    PolicyRefused,
    SealflowError,
    WorkflowStateError,
    msg,
)
from processes.flows import engine
from processes.flows.engine import EngineIncident
from processes.idempotency_models import IdempotencyKey
from processes.models import (
    Document,
    Group,
    Membership,
    ProcessDefinition,
    Request,
    RequestStatus,
    Seal,
    User,
    utcnow,
)
from processes.people.directory import Identity, get_user
from processes.requests import copies, filing_choices, lifecycle_requests, placement
from processes.requests.advancing import (
    NEW_REQUESTS_KEY,
    Settled,
    advance,
    mark_incident,
    settle_new,
)
from processes.requests.filing_reads import definition_for, seal_for
from processes.requests.forms import check_values
from processes.requests.queries import get_visible
from processes.seal_models import SealPolicy
from processes.seals import approvals, policy, refusals

logger = logging.getLogger(__name__)


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
    copy_of: int | None = None
    """With no ``document``: the document of this rejected or withdrawn request of the
    requester's (copy and resubmit: processes/requests/copies.py), under its file's name."""


# The requester's groups and each one's head, in one statement.
_GROUPS_AND_HEADS = (select(Group.key, User.name)
                     .join(Membership, Membership.group_id == Group.id)
                     .outerjoin(User, User.id == Group.head_id)
                     .where(Membership.user_id == bindparam("uid")))


def builtins(session: Session, requester: User, seal, business_type: str | None,
              pages: int) -> dict[str, Any]:
    rows = session.execute(_GROUPS_AND_HEADS, {"uid": requester.id}).all()
    return {"requester": requester.name, "requester_groups": sorted(key for key, _ in rows),
            "requester_heads": sorted({head for _, head in rows if head is not None}),
            "business_type": business_type,
            "seal": seal.id if seal is not None else None,
            "seal_type": seal.type if seal is not None else None,
            "seal_custodians": [u.name for u in seal.custodians] if seal is not None else [],
            "document_pages": pages}


@dataclass(frozen=True)
class ReadDocument:
    """A new request's PDF as :func:`prepare` found it: inspected and its placement planned,
    its file written; or the problem found at either step (raised at the point the request's
    other checks reach it)."""

    data: bytes
    info: signer.PdfInfo | None = None
    planned: dict[str, Any] | None = None
    unreadable: SealflowError | None = None  # not a PDF we can seal, or too large
    misplaced: SealflowError | None = None  # the placement does not fit the document


def _read(env: Env, data: bytes, raw_placement: Any) -> ReadDocument:
    try:
        info = documents.inspect(env, data)
    except SealflowError as exc:
        return ReadDocument(data, unreadable=exc)
    try:
        planned = placement.plan(raw_placement, info, data)
    except signer.InvalidDocument as exc:
        return ReadDocument(data, info, misplaced=documents.refusal(exc))
    except SealflowError as exc:
        return ReadDocument(data, info, misplaced=exc)
    # Written now, not under the lock: a request refused after this leaves the file behind, as
    # a rollback does (processes/documents.py), never a row without its file.
    documents.write(env, data)
    return ReadDocument(data, info, planned)


@dataclass
class Prepared:
    """A new request as :func:`prepare` found it: checked, and its instance started (or the
    incident that stopped it), but nothing written. ``earlier``: the request an earlier
    submission with the same Idempotency-Key made (nothing else is set then)."""

    earlier: int | None = None
    requester: User | None = None
    definition: ProcessDefinition | None = None
    business_type: str | None = None
    seal: Seal | None = None
    seal_state: Any = None  # _SEAL_STATE's columns, read with the seal and its policy
    data: dict[str, Any] | None = None
    read: ReadDocument | None = None
    doc: Document | None = None  # the document's row, when it was stored already
    wf: BpmnWorkflow | None = None
    settled: Settled | None = None  # wf's tasks, their performers, its state (settle_new)
    incident: EngineIncident | None = None


# What a refusal to file a request for a seal depends on and can change at any moment: the
# seal's status, its policy (its time of change). Read in the row the seal and its policy come
# from (_FILING_SEAL), and again under the write lock (with the audit chain's head, which the
# writing needs next; on PostgreSQL the seal's row held in share mode to the commit, so that a
# change of the seal waits for the request, or the request for the change): the same then, or
# the request is checked again.
_SEAL_STATE = (select(Seal.status, SealPolicy.updated_at)
               .outerjoin(SealPolicy, SealPolicy.seal_id == Seal.id)
               .where(Seal.id == bindparam("sid")))
_SEAL_STATE_AND_HEAD = _SEAL_STATE.add_columns(audit.HEAD).with_for_update(read=True, of=Seal)


def prepare(session: Session, env: Env, identity: Identity, new: NewRequest,
            read: ReadDocument | None = None) -> Prepared:
    """The slow part of filing a request, which writes nothing: the checks, the PDF read (its
    pages, fields and layout; the placement planned; its file written) and the instance's first
    run to where it waits. Called in a reading transaction, so that no lock (SQLite's write
    lock; on PostgreSQL the seal's row, the audit chain's) is held meanwhile: a new instance is
    no one else's before its request is committed. :func:`create` writes it. ``read``: what
    an earlier call read of the same PDF."""
    requester = identity.user
    if new.on_behalf_of:
        if identity.scopes is None or "act_as" not in identity.scopes:
            raise NotAllowed(msg("on_behalf_of needs a token with the act_as scope"))
        requester = get_user(session, new.on_behalf_of)
        if not requester.active:
            raise InvalidContent(msg("on_behalf_of names an inactive user"),
                                 [{"field": "on_behalf_of", "message": msg("inactive")}])
    earlier = _earlier(session, identity, new)
    if earlier is not None:
        return Prepared(earlier=earlier)
    definition, business_type = definition_for(session, new.process, new.business_type)
    filing_seal = seal_for(session, definition, new.seal_id)
    # A lifecycle flow: for the people who manage the seal, as the new-request page has it;
    # the requester's right (on_behalf_of: the user named, by their own roles), not the caller's.
    # Checked after the seal's read: in create's second pass (all expired) that read loads a
    # custodian requester's row again with the seal's custodians, not a statement of its own.
    filing_choices.may_start(session, identity if requester is identity.user
                             else Identity(requester), definition, new.seal_id)
    seal = filing_seal.seal if filing_seal is not None else None
    pages, doc = 0, None
    if definition.seal_action is None:
        data_bytes = _document_bytes(session, env, identity, new)
        if read is None or read.data is not data_bytes:
            read = _read(env, data_bytes, new.placement)
        if read.unreadable is not None:
            raise read.unreadable
        info = cast(signer.PdfInfo, read.info)
        assert filing_seal is not None  # a use of a seal names one (_seal_for)
        policy.check_use(session, filing_seal.seal, requester, business_type, definition,
                         pages=info.pages, size=len(data_bytes), policy=filing_seal.policy)
        if read.misplaced is not None:
            raise read.misplaced
        pages = info.pages
        doc = documents.stored(session, data_bytes)
    else:
        lifecycle_requests.refuse_document(new)
        read = None
    data = check_values(definition.start_form, new.data or {}, extra_allowed=True)
    variables = {**data, **builtins(session, requester, seal, business_type, pages)}
    variables.update(lifecycle_requests.plan(session, definition.seal_action, data))
    prepared = Prepared(requester=requester, definition=definition, business_type=business_type,
                        seal=seal, seal_state=filing_seal.state if filing_seal else None,
                        data=data, read=read, doc=doc)
    try:
        prepared.wf = engine.start(definition, variables)
    except EngineIncident as exc:
        prepared.incident = exc
    else:
        prepared.settled = settle_new(session, definition, prepared.wf)
    return prepared


def _earlier(session: Session, identity: Identity, new: NewRequest) -> int | None:
    """The request an earlier submission with ``new``'s Idempotency-Key made."""
    if not new.idempotency_key:
        return None
    return session.execute(select(IdempotencyKey.request_id).where(
        IdempotencyKey.user_id == identity.user.id,
        IdempotencyKey.key == new.idempotency_key)).scalar_one_or_none()


def _still_holds(session: Session, identity: Identity, new: NewRequest,
                 prepared: Prepared) -> bool:
    """Under the write lock: whether what :func:`prepare` found, in a transaction that has
    ended, still stands. What a refusal depends on is read again: the seal's status and policy
    (one statement); an earlier request with the same Idempotency-Key. A lifecycle request is
    checked again whole (the authority a seal's status changed on: rare, and cheap).

    The rest may have changed meanwhile and does not matter more than a change a moment after
    the commit would: the flow's latest version (a new one starts the next request), the
    people (the first tasks' performers, the heads and custodians in the instance's data: a
    request filed a moment earlier has them too, and the approvals a seal's policy demands
    are counted as the organisation stands at the authorized end), the seal's quotas (only
    reserved at the authorized end, under the lock)."""
    if prepared.earlier is not None:
        return True
    definition = cast(ProcessDefinition, prepared.definition)
    if definition.seal_action is not None or _earlier(session, identity, new) is not None:
        return False
    if prepared.seal is None:
        return True
    found = session.execute(_SEAL_STATE_AND_HEAD, {"sid": prepared.seal.id}).one_or_none()
    if found is None:
        return False
    audit.remember_head(session, found[-1])
    return tuple(found[:-1]) == tuple(prepared.seal_state or ())


def create(session: Session, env: Env, identity: Identity, new: NewRequest,
           prepared: Prepared | None = None) -> Request:
    """Check, store and start a request; the engine runs until it waits. ``prepared``: what
    :func:`prepare` found of ``new`` before this transaction (found here if None, or if what
    it depends on changed since)."""
    if new.idempotency_key:  # two filings with one key at once: the second sees the first
        serialize_on(session, "idempotency_keys", f"{identity.user.id}:{new.idempotency_key}")
    if prepared is not None and not _still_holds(session, identity, new, prepared):
        # Found again in this transaction, from the rows as they stand now (not as the session
        # holds them from the earlier one); the PDF as it was read.
        session.expire_all()
        prepared = prepare(session, env, identity, new, prepared.read)
    if prepared is None:
        prepared = prepare(session, env, identity, new)
    if prepared.earlier is not None:
        return session.get_one(Request, prepared.earlier)
    return _file(session, env, identity, new, prepared)


def _file(session: Session, env: Env, identity: Identity, new: NewRequest,
          prepared: Prepared) -> Request:
    """Write a prepared request: its row (and its document's, when the document is new), its
    instance's inbox rows, the audit events; as plain statements (no unit of work)."""
    definition = cast(ProcessDefinition, prepared.definition)
    requester = cast(User, prepared.requester)
    seal, doc, read = prepared.seal, prepared.doc, prepared.read
    if read is not None and doc is None:
        info = cast(signer.PdfInfo, read.info)
        doc = documents.store(session, env, read.data, info.pages, info.page_refs)
    now = utcnow()
    req = Request(status=RequestStatus.running, process=definition, process_id=definition.id,
                  business_type=prepared.business_type, seal_id=seal.id if seal else None,
                  requester=requester, requester_id=requester.id,
                  created_by_id=identity.user.id, document=doc,
                  document_id=doc.id if doc else None,
                  filename=_filename(new.filename) if doc else "",
                  placement=read.planned if read else None, data=prepared.data, state="",
                  state_version="", created_at=now, updated_at=now)
    if prepared.settled is not None:  # inserted with its instance's state: no UPDATE after
        engine.save(req, prepared.wf, prepared.settled.state)
    insert_now(session, req)
    session.info.setdefault(NEW_REQUESTS_KEY, set()).add(req.id)
    audit.record(session, "request.created", actor=identity.user, request_id=req.id,
                 seal_id=req.seal_id, process=definition.key, version=definition.version,
                 business_type=prepared.business_type,
                 subject_sha256=approvals.subject_sha256(req), document=doc is not None,
                 requester=requester.name)
    if prepared.incident is not None:
        mark_incident(session, req, prepared.incident)
        update_now(session, req)
        return req
    advance(session, req, prepared.wf, actor=identity.user, inserted=prepared.settled)
    if new.idempotency_key:
        session.add(IdempotencyKey(user_id=identity.user.id, key=new.idempotency_key,
                                   request_id=req.id))
        try:
            session.flush()
        except IntegrityError:
            raise WorkflowStateError(
                msg("a request with this Idempotency-Key is being created")) from None
    logger.info("request %d created by %s (process %s v%d)", req.id, identity.user.name,
                definition.key, definition.version)
    return req


def _filename(name: str | None) -> str:
    name = (name or "document.pdf").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return (name or "document.pdf")[:300]


def _document_bytes(session: Session, env: Env, identity: Identity, new: NewRequest) -> bytes:
    if new.from_request is not None:
        if new.document is not None:
            raise BadInput(msg("give either document or from_request, not both"))
        earlier = get_visible(session, identity, new.from_request)
        if earlier.status != RequestStatus.sealed or earlier.sealed_document is None:
            raise WorkflowStateError(msg("request %(id)s is not sealed", id=earlier.id))
        return documents.read(env, earlier.sealed_document)
    if not new.document and new.copy_of is not None:
        data, name = copies.original_document(session, env, identity, new.copy_of)
        new.filename = name  # the copy keeps the original's name, as it keeps its bytes
        return data
    if not new.document:
        raise InvalidContent(msg("a PDF document is required"),
                             [{"field": "document", "message": msg("is required")}])
    return new.document


def record_refused(session: Session, identity: Identity, new: NewRequest,
                   refused: PolicyRefused) -> None:
    """The seal's policy refused ``new`` at filing: nothing of it was written (its transaction
    rolled back), so the refusal is recorded in a unit of work of its own, with its rule."""
    try:  # the flow and type as the filing found them (a mapping changed since: as named)
        definition, business_type = definition_for(session, new.process, new.business_type)
        process: str | None = definition.key
    except SealflowError:
        process, business_type = new.process, new.business_type
    refusals.record(session, rule=refusals.rule_of(refused), stage="filing",
                    reason=refused.message, seal_id=new.seal_id,
                    requester=new.on_behalf_of or identity.user.name, process=process,
                    business_type=business_type, actor=identity.user)
