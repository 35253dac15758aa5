"""Trying again after a designer's or an operator's fix: ``incident`` and ``failed`` requests.

An incident leaves the instance where it stopped (the failing task in ERROR, or a user task
nobody could work); retrying (after correcting variables, if need be) puts failed tasks back
to READY and runs on, on the request's current definition (possibly a fixed, migrated
version). A ``failed`` request gets its grant back: sealing is attempted again, with every
check it had the first time.
"""

from __future__ import annotations

import logging
from typing import Any

from SpiffWorkflow.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from processes import audit, signals
from processes.db import lock_request, on_commit
from processes.errors import NotAllowed, NotFound, PolicyRefused, WorkflowStateError, msg
from processes.flows import engine
from processes.flows.engine import EngineIncident
from processes.models import GrantStatus, Request, RequestStatus, SigningGrant, User, utcnow
from processes.people.directory import Identity
from processes.requests.advancing import advance, mark_incident
from processes.requests.forms import check_values
from processes.requests.intake import builtins
from processes.seals import policy

logger = logging.getLogger(__name__)


def retry(session: Session, identity: Identity, request_id: int,
          corrections: dict[str, Any] | None = None, *,
          process_key: str | None = None) -> Request:
    """Admins: run an ``incident`` request on, or seal a ``failed`` one again.

    ``corrections``: variables an incident's instance is given before it runs on (the value a
    condition expected, say); not the built-ins, which are read again anyway. Audited.
    ``process_key``: the flow the caller retries it from (a flow's page); another's is 404."""
    if not identity.has_role("admin"):
        raise NotAllowed(msg("retrying a request needs the admin role"))
    corrections = check_values([], corrections or {}, extra_allowed=True)
    req = lock_request(session, request_id)
    if req is None or process_key not in (None, req.process.key):
        raise NotFound(msg("no request %(request_id)s of flow %(key)s", request_id=request_id,
                           key=process_key) if process_key else
                       msg("no request %(request_id)s", request_id=request_id))
    if req.status == RequestStatus.incident:
        _resume(session, identity, req, corrections)
    elif corrections:
        raise WorkflowStateError(msg("request %(request)s is %(status)s; variables are corrected "
                                     "only for an incident", request=req.id,
                                     status=req.status.value))
    elif req.status == RequestStatus.failed:
        _reseal(session, identity, req)
    else:
        raise WorkflowStateError(msg("request %(request)s is %(status)s; only an incident or a "
                                     "failed request can be retried", request=req.id,
                                     status=req.status.value))
    return req


def _resume(session: Session, identity: Identity, req: Request,
            corrections: dict[str, Any]) -> None:
    previous = req.failure
    req.status = RequestStatus.running
    req.fail_with(None)
    details: dict[str, Any] = {"incident": previous}
    if corrections:
        details["corrected"] = corrections
    audit.record(session, "request.retried", actor=identity.user, request_id=req.id, **details)
    # The people may have changed since (the fix is often a new head or custodian): the
    # built-in variables are read again.
    requester = session.get_one(User, req.requester_id)
    current = builtins(session, requester, req.seal, req.business_type,
                       req.document.pages if req.document is not None else 0)
    try:
        if not req.state:  # it stopped before its first wait: start it again
            wf = engine.start(req.process, {**req.data, **corrections, **current})
        else:
            wf = engine.load(req.process, req.state)
            for task in wf.get_tasks(state=TaskState.ERROR | TaskState.READY):
                task.data.update(corrections)
                task.data.update(current)
                if task.state == TaskState.ERROR:
                    task._set_state(TaskState.READY)  # SpiffWorkflow has no public retry
            engine.run(wf)
    except EngineIncident as exc:
        mark_incident(session, req, exc)
        return
    advance(session, req, wf, actor=identity.user)
    logger.info("request %d resumed after an incident by %s", req.id, identity.user.name)


def _reseal(session: Session, identity: Identity, req: Request) -> None:
    grant = session.execute(
        select(SigningGrant).where(SigningGrant.request_id == req.id)).scalar_one_or_none()
    if grant is None or grant.status != GrantStatus.failed:
        raise WorkflowStateError(msg("request %(request)s has no failed grant to retry",
                                     request=req.id))
    previous = req.failure
    assert req.seal is not None  # a grant is written for a use of a seal, which names it
    if not grant.reserved:
        try:
            policy.reserve(session, req.seal, grant)
        except PolicyRefused as exc:
            raise WorkflowStateError(msg("cannot retry request %(request)s: %(message)s",
                                         request=req.id, message=exc.message)) from None
    grant.status = GrantStatus.pending
    grant.lease_until = None
    grant.error = None
    req.status = RequestStatus.authorized
    req.fail_with(None)
    req.updated_at = utcnow()
    audit.record(session, "request.retried", actor=identity.user, request_id=req.id,
                 grant=grant.id, failure=previous)
    session.flush()
    on_commit(session, lambda: signals.grant_created.send(None, grant_id=grant.id))
    logger.info("sealing of request %d retried by %s", req.id, identity.user.name)


STOPPED = (RequestStatus.incident, RequestStatus.failed)
PER_PAGE = 50


def stopped(session: Session, identity: Identity, page: int = 1,
            per_page: int = PER_PAGE) -> tuple[list[Request], int, int]:
    """Admins: the requests of every flow stopped by an incident or a failed sealing, the
    latest first: one page of them, how many there are in all, and the page's number (a
    number past the last page shows the last)."""
    if not identity.has_role("admin"):
        raise NotAllowed(msg("the incidents are for administrators"))
    total = session.execute(select(func.count(Request.id))
                            .where(Request.status.in_(STOPPED))).scalar_one()
    page = min(max(1, page), max(1, -(-total // per_page)))
    found = session.execute(
        select(Request).where(Request.status.in_(STOPPED)).options(selectinload(Request.seal))
        .order_by(Request.updated_at.desc(), Request.id.desc())
        .offset((page - 1) * per_page).limit(per_page)).scalars().unique()
    return list(found), total, page
