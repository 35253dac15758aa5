"""Withdrawing a request: its requester ends it, whatever its instance was waiting for, and
says why (the reason is kept as a ``withdraw`` task action, which the request's history shows,
and in the audit log)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit, candidates, signals
from processes.db import lock_request, on_commit
from processes.errors import InvalidContent, NotAllowed, NotFound, WorkflowStateError, msg
from processes.flows import engine
from processes.flows.engine import EngineIncident, StateUnreadable
from processes.models import Request, RequestStatus, TaskStatus, utcnow
from processes.people.directory import Identity
from processes.requests.queries import get_visible
from processes.task_action_models import TaskAction
from processes.task_models import Task

logger = logging.getLogger(__name__)


WITHDRAW_SIGNAL = "withdraw"
MAX_REASON = 2000


def reason_text(value: object) -> str:
    """A withdrawal's (or any requester's) reason: required, at most MAX_REASON characters."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidContent(msg("Say why: a reason is required."),
                             [{"field": "reason", "message": msg("is required")}])
    if len(text) > MAX_REASON:
        raise InvalidContent(msg("The reason is longer than %(max)s characters.", max=MAX_REASON),
                             [{"field": "reason",
                               "message": msg("at most %(max)s characters", max=MAX_REASON)}])
    return text


def withdraw(session: Session, identity: Identity, request_id: int, reason: object,
             required: bool = True) -> Request:
    """End ``request_id`` for its requester, who says why (``reason``; the page requires it,
    the API, whose clients withdrew without one before reasons were kept, takes none as
    none: ``required=False``)."""
    req = get_visible(session, identity, request_id)
    if req.requester_id != identity.user.id:
        raise NotAllowed(msg("only the requester may withdraw a request"))
    why = reason_text(reason) if required or reason is not None else None
    locked = lock_request(session, request_id)
    if locked is None:  # visible a moment ago, and requests are never deleted
        raise NotFound(msg("no request %(request_id)s", request_id=request_id))
    req = locked
    if req.status not in (RequestStatus.running, RequestStatus.halted, RequestStatus.incident):
        raise WorkflowStateError(msg("request %(request)s is %(status)s; only a running request "
                                     "can be withdrawn", request=req.id, status=req.status.value))
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
    cancelled = list(session.execute(select(Task).where(
        Task.request_id == req.id, Task.status == TaskStatus.open)).scalars())
    for task in cancelled:
        task.status = TaskStatus.cancelled
        task.completed_at = utcnow()
    candidates.close(session, [task.id for task in cancelled])
    if wf is not None:
        engine.save(req, wf)
    req.updated_at = utcnow()
    session.add(TaskAction(request_id=req.id, task_id=None, kind="withdraw",
                           actor_id=identity.user.id, reason=why))
    audit.record(session, "request.withdrawn", actor=identity.user, request_id=req.id,
                 signal_caught=caught, reason=why)
    on_commit(session, lambda: signals.request_finished.send(
        None, request_id=req.id, status="withdrawn"))
    return req
