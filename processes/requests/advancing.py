"""Advancing a request's instance: after the engine ran, the inbox rows, the end state, and
at the authorized end the signing grant (or, without the approvals it needs, the failure)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from processes import audit, candidates, notices, signals
from processes.db import on_commit, transaction_cache, update_now
from processes.errors import PolicyRefused, msg
from processes.flows import engine
from processes.flows.bpmn import spec_metadata
from processes.flows.engine import EngineIncident
from processes.models import (
    GrantStatus,
    ProcessDefinition,
    Request,
    RequestStatus,
    SigningGrant,
    TaskStatus,
    User,
    utcnow,
)
from processes.requests import inbox
from processes.seal_models import SealPolicy
from processes.seals import approvals, policy, refusals
from processes.task_models import Task

logger = logging.getLogger(__name__)


OPEN_TASKS = select(Task).where(Task.request_id == bindparam("rid"),
                                 Task.status == TaskStatus.open)
# The open inbox rows of the requests this transaction advanced (the response reuses them).
OPEN_TASKS_KEY = transaction_cache("sealflow_open_tasks")
# The requests made in this transaction: no inbox rows, no history yet (none is read).
NEW_REQUESTS_KEY = transaction_cache("sealflow_new_requests")


def mark_incident(session: Session, req: Request, exc: EngineIncident) -> None:
    req.status = RequestStatus.incident
    req.fail_with(msg("%(element)s: %(message)s", element=exc.element, message=exc.message)
                  if exc.element else exc.message)
    req.updated_at = utcnow()
    audit.record(session, "request.incident", request_id=req.id, element=exc.element,
                 message=exc.message)
    logger.warning("request %d incident at %s: %s", req.id, exc.element, exc.message)


@dataclass(frozen=True)
class Settled:
    """An instance's run as far as it needs no database: the tasks waiting for a person (the
    new ones' decisions cleared) and the state after that, dumped."""

    ready: list[engine.ReadyTask]
    state: tuple[str, str]
    performers: dict[str, inbox.Performers] = field(default_factory=dict)
    """Of a new instance: its tasks' performers, read (by task id)."""


def settle(wf, opened: Collection[str] = ()) -> Settled:
    """:class:`Settled` of ``wf`` (``opened``: the tasks that have inbox rows already)."""
    ready = engine.ready_user_tasks(wf)
    # A manual task leaves the approvers' decision as it was: it takes none.
    engine.clear_decision(wf, [r.id for r in ready if r.id not in opened and not r.manual])
    return Settled(ready, engine.dump(wf))


def settle_new(session: Session, definition: ProcessDefinition, wf) -> Settled:
    """:func:`settle` of a new instance, with its tasks' performers read (what opening them
    reads). A task whose performers' expression fails is left to fail where it opens."""
    settled = settle(wf)
    for r in settled.ready:
        try:
            settled.performers[r.id] = inbox.performers(session, r.element_id,
                                                        _metadata(definition, r), r.data)
        except EngineIncident:
            pass
    return settled


def advance(session: Session, req: Request, wf, *, actor: User | None,
            inserted: Settled | None = None) -> None:
    """Project the instance after it ran: inbox rows, end state, grant; save state once.
    The request's row is written now, in one UPDATE (unless a change of its relationships
    leaves it to the flush), when anything of it changed. ``inserted``: a new request's run,
    settled before its row was inserted with that state (:func:`settle`)."""
    _advance(session, req, wf, actor=actor, inserted=inserted)
    update_now(session, req)


def _advance(session: Session, req: Request, wf, *, actor: User | None,
             inserted: Settled | None) -> None:
    definition = req.process
    # No autoflush: the whole advance is written in one flush at the commit. A task completed
    # in this transaction is still "open" in the database, so filter on the in-memory status.
    # A request made in this transaction has no inbox rows yet.
    open_rows: dict[str, Task] = {}
    only = session.info.get(inbox.ONLY_OPEN_KEY, {}).pop(req.id, None)
    if only is not None:  # read with the request's lock: no other task of it was open
        open_rows = {only.id: only} if only.status == TaskStatus.open else {}
    elif req.id not in session.info.get(NEW_REQUESTS_KEY, ()):
        with session.no_autoflush:
            open_rows = {t.id: t for t in session.execute(OPEN_TASKS, {"rid": req.id}).scalars()
                         if t.status == TaskStatus.open}
    settled = inserted or settle(wf, open_rows)
    ready = settled.ready
    ready_ids = {r.id for r in ready}
    # An added approver's row (加签) is no engine task: it lives as long as its flow task.
    left = [row for task_id, row in open_rows.items()
            if task_id not in ready_ids and row.parent_id not in ready_ids]
    for row in left:
        row.status = TaskStatus.cancelled
        row.completed_at = utcnow()
        update_now(session, row)
    candidates.close(session, [row.id for row in left])
    new = [r for r in ready if r.id not in open_rows]
    still_open = [row for task_id, row in open_rows.items()
                  if task_id in ready_ids or row.parent_id in ready_ids]
    try:
        for r in new:
            meta = _metadata(definition, r)
            task = inbox.open_task(session, req, r.id, r.element_id, meta, r.data,
                                   activity=r.activity, found=settled.performers.get(r.id))
            still_open.append(task)
            audit.record(session, "task.created", request_id=req.id, task=task.id,
                         element=r.element_id)
            on_commit(session, functools.partial(signals.task_created.send, None,
                                                 task_id=task.id, request_id=req.id))
    except EngineIncident as exc:
        mark_incident(session, req, exc)
    # The response to this change reuses the open rows (dropped at the commit).
    session.info.setdefault(OPEN_TASKS_KEY, {})[req.id] = still_open
    if inserted is None:  # (a new request's row has its state and time)
        engine.save(req, wf, settled.state)
        req.updated_at = utcnow()
    due = engine.next_timer_due(wf) if req.status == RequestStatus.running else None
    if due != req.timer_due_at:
        req.timer_due_at = due
        if due is not None:
            on_commit(session, lambda: signals.timer_armed.send(
                None, request_id=req.id, due_at=due))
    end = engine.reached_end(wf, definition.authorized_end)
    if end is None:
        if req.status == RequestStatus.running and not still_open and due is None:
            stalled = engine.stalled_at(wf, set())
            if stalled is not None:
                mark_incident(session, req, stalled)
        return
    req.end_event = end
    if end == definition.authorized_end:
        _authorize(session, req)
    else:
        req.status = (RequestStatus.withdrawn if req.status == RequestStatus.withdrawn
                      else RequestStatus.rejected)
        audit.record(session, f"request.{req.status.value}", actor=actor, request_id=req.id,
                     end_event=end)
        if req.status == RequestStatus.rejected:
            notices.request_finished(session, req.requester_id, req.id, "rejected")
        on_commit(session, lambda: signals.request_finished.send(
            None, request_id=req.id, status=req.status.value))


def _metadata(definition: ProcessDefinition, ready: engine.ReadyTask) -> dict:
    """What the inbox needs of a ready task: kept at deploy, or (a manual task of a flow
    deployed before manual tasks were offered to people) read from its spec."""
    meta = definition.tasks.get(ready.element_id)
    if meta is None and ready.manual and ready.spec is not None:
        return spec_metadata(ready.spec)
    if meta is None:
        return {"name": ready.element_id}
    return {**meta, "manual": True} if ready.manual else meta


def _authorize(session: Session, req: Request) -> None:
    """The authorized end: write the single-use signing grant in this same transaction (or,
    for a lifecycle flow, leave the change to the job that makes it, once) when the request
    has the approvals it needs; otherwise it fails, with the reason.

    Reads without autoflush (the tasks completed in this transaction are written already:
    ``update_now``), and the grant as a plain row: the request's row is written once, by
    ``advance``, and no unit of work runs."""
    lifecycle = req.process.seal_action is not None
    if any(isinstance(obj, Task) for obj in session.dirty):
        session.flush()  # a task changed some other way: the approvals must see it
    with session.no_autoflush:
        given = approvals.given(session, req)
        reason = approvals.missing(given, lifecycle=lifecycle)
        seal_policy = None
        if reason is None and not lifecycle:
            # A use of a seal names it (seal_make's request has none).
            assert req.seal_id is not None
            seal_policy = session.get(SealPolicy, req.seal_id)
            if seal_policy is not None:
                reason = policy.approvals_refused(session, req.seal_id, given,
                                                  req.requester_id, seal_policy)
            if reason:
                refusals.record_of_request(session, req, rule=reason.rule,
                                           stage="authorized", reason=reason)
                reason = msg("the seal's policy refuses this use: %(reason)s", reason=reason)
    if reason:
        _fail(session, req, reason)
        return
    if lifecycle:
        req.status = RequestStatus.authorized
        audit.record(session, "request.authorized", request_id=req.id, seal_id=req.seal_id,
                     seal_action=req.process.seal_action, approvals=len(given))
        on_commit(session, lambda: signals.lifecycle_authorized.send(None, request_id=req.id))
        return
    assert req.seal_id is not None and req.document is not None  # a use: a seal, a document
    sha = req.document.sha256
    grant = {"request_id": req.id, "seal_id": req.seal_id, "document_sha256": sha,
             "approvals": given}
    try:
        reserved = policy.take_uses(session, req.seal_id, policy=seal_policy)
    except PolicyRefused as exc:
        refusals.record_of_request(session, req, rule=refusals.rule_of(exc),
                                   stage="authorized", reason=exc.message)
        grant_id = _insert_grant(session, grant | {"status": GrantStatus.failed,
                                                   "error": exc.message})
        _fail(session, req, exc.message, grant=grant_id)
        return
    grant_id = _insert_grant(session, grant | {"reserved": reserved})
    req.status = RequestStatus.authorized
    audit.record(session, "request.authorized", request_id=req.id, seal_id=req.seal_id,
                 grant=grant_id, document_sha256=sha, approvals=len(given))
    session.info.setdefault(NEW_GRANTS_KEY, set()).add(req.id)
    on_commit(session, lambda: signals.grant_created.send(None, grant_id=grant_id))


_INSERT_GRANT = insert(cast(Table, SigningGrant.__table__)).returning(SigningGrant.id)
# The requests this transaction wrote a grant for (its answer need not ask what it waits for).
NEW_GRANTS_KEY = transaction_cache("sealflow_new_grants")


def _insert_grant(session: Session, values: dict) -> int:
    """The grant as a plain row (one INSERT … RETURNING its id; the defaults are the table's)."""
    return session.connection().execute(_INSERT_GRANT, values).scalar_one()


def _fail(session: Session, req: Request, reason: str, **details) -> None:
    """The instance reached its authorized end, but the request may not be authorized."""
    req.status = RequestStatus.failed
    req.fail_with(reason)
    audit.record(session, "request.failed", request_id=req.id, seal_id=req.seal_id,
                 reason=reason, **details)
    on_commit(session, lambda: signals.request_finished.send(
        None, request_id=req.id, status="failed"))
    logger.warning("request %d reached its authorized end but failed: %s", req.id, reason)
