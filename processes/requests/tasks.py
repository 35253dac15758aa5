"""Tasks, the domain's side (app/api/tasks.py and app/web/tasks.py serve it): working the inbox,
claim, unclaim, complete."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from processes import audit, documents
from processes.env import Env
from processes.errors import InvalidContent, NotAllowed, NotFound, WorkflowStateError, msg
from processes.flows import engine
from processes.flows.engine import EngineIncident, StateUnreadable
from processes.models import Request, RequestStatus, TaskStatus, User
from processes.people.directory import Identity
from processes.requests import added_approvers, inbox, placement, visibility
from processes.requests.advancing import advance, mark_incident
from processes.requests.forms import check_decision, check_values
from processes.seals import approvals
from processes.task_action_models import TaskAction
from processes.task_models import Task

logger = logging.getLogger(__name__)


def locked_task(session: Session, identity: Identity,
                 task_id: str) -> tuple[Task, Request, bool]:
    """The task and its request, the request's row locked, and whether the caller is a
    candidate; 404 if the caller cannot see it."""
    req, task, visible, candidate = inbox.locked_task_for_work(session, identity, task_id)
    if req is None or task is None or not visible:
        raise NotFound(msg("no task %(task)s", task=task_id))
    return task, req, candidate


def require_open(task: Task, req: Request) -> None:
    if task.status != TaskStatus.open:
        raise WorkflowStateError(msg("task %(task)s is already %(status)s", task=task.id,
                                     status=task.status.value))
    if req.status != RequestStatus.running:
        raise WorkflowStateError(msg("request %(id)s is %(status)s", id=req.id,
                                     status=req.status.value))


@dataclass(frozen=True)
class Revision:
    """A revised document handed in with a task (the API's multipart ``document``)."""

    env: Env
    data: bytes
    filename: str | None = None


def _revise(session: Session, identity: Identity, task: Task, req: Request,
            revision: Revision) -> None:
    if req.document is None:
        raise InvalidContent(
            msg("a request to make or change a seal carries no document to revise"),
            [{"field": "document", "message": msg("not accepted by this request")}])
    if not task.requester_may_work:
        raise InvalidContent(
            msg("this task does not revise the document: only a task of the requester's own "
                "(assignee or candidate ${requester}) may carry a new PDF"),
            [{"field": "document", "message": msg("not accepted by this task")}])
    info = documents.inspect(revision.env, revision.data)
    placement.recheck(req.placement, info, revision.data)  # the seal must still fit
    old = req.document.sha256
    doc = documents.store(session, revision.env, revision.data, info.pages,
                          info.page_refs)
    req.document = doc
    if revision.filename:
        req.filename = revision.filename.replace("\\", "/").rsplit("/", 1)[-1][:300]
    audit.record(session, "request.revised", actor=identity.user, request_id=req.id,
                 task=task.id, previous_sha256=old, document_sha256=doc.sha256)


def _check_seen(req: Request, seen_sha256: Any) -> None:
    if seen_sha256 is None:
        return
    if not isinstance(seen_sha256, str) or len(seen_sha256) != 64:
        raise InvalidContent(msg("document_sha256 must be the 64 hex digits of a SHA-256"),
                             [{"field": "document_sha256", "message": msg("not a SHA-256")}])
    current = approvals.subject_sha256(req)
    if seen_sha256.lower() != current:
        raise WorkflowStateError(
            msg("the document of request %(id)s changed after it was shown to you (it is now "
                "%(now)s…, you saw %(seen)s…): open it again and decide on what is there now",
                id=req.id, now=current[:12], seen=seen_sha256[:12].lower()))


def _check_confirmation(decision: str | None, revision: Revision | None) -> None:
    """A manual task is confirmed done: it takes no decision (it is never an approval) and
    carries no document."""
    if decision is not None:
        raise InvalidContent(
            msg("this is a manual task: it is confirmed done, with no decision (it is not an "
                "approval); complete it without one"),
            [{"field": "decision", "message": msg("a manual task takes no decision")}])
    if revision is not None:
        raise InvalidContent(msg("a manual task does not revise the document"),
                             [{"field": "document", "message": msg("not accepted by this task")}])


def _return_route(meta: dict[str, Any]) -> dict[str, Any]:
    """A plain completion with the decision ``return``: toward the task's one return target
    (``return_to``); among several, the caller must choose (``POST .../return`` with ``to``)."""
    targets = [t["id"] for t in meta.get("return_targets") or []]
    if len(targets) > 1:
        raise InvalidContent(
            msg("this task may send the request back to several steps: choose one (return it "
                "with to: one of %(targets)s)", targets=', '.join(targets)),
            [{"field": "decision", "message": msg("choose where to return"), "options": targets}])
    return {"return_to": targets[0]} if targets else {}


def get_visible(session: Session, identity: Identity, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is None or not visibility.can_see(session, identity, task.request):
        raise NotFound(msg("no task %(task)s", task=task_id))
    return task


def claim(session: Session, identity: Identity, task_id: str) -> Task:
    task, req, candidate = locked_task(session, identity, task_id)
    require_open(task, req)
    inbox.check_may_work(session, identity.user, task, req, candidate)
    task.claimed_by_id = identity.user.id
    audit.record(session, "task.claimed", actor=identity.user, request_id=req.id, task=task.id)
    # the request's history shows who took it, and when (views.actions)
    session.add(TaskAction(request_id=req.id, task_id=task.id, kind="claim",
                           actor_id=identity.user.id))
    session.flush()
    return task


def unclaim(session: Session, identity: Identity, task_id: str) -> Task:
    task, req, _candidate = locked_task(session, identity, task_id)
    require_open(task, req)
    if task.claimed_by_id is None:
        raise WorkflowStateError(msg("the task is not claimed"))
    if task.claimed_by_id != identity.user.id and not identity.has_role("admin"):
        raise NotAllowed(msg("only the claimant or an admin may unclaim a task"))
    task.claimed_by_id = None
    audit.record(session, "task.unclaimed", actor=identity.user, request_id=req.id,
                 task=task.id)
    session.add(TaskAction(request_id=req.id, task_id=task.id, kind="unclaim",
                           actor_id=identity.user.id))
    session.flush()
    return task


def complete(session: Session, identity: Identity, task_id: str, *, decision: Any = None,
             comment: Any = None, data: dict[str, Any] | None = None,
             revision: Revision | None = None, seen_sha256: Any = None,
             return_to: str | None = None) -> Request:
    """Complete a task and advance the instance, all under the request's row lock.

    A task of the requester's own (``${requester}`` its assignee or a candidate: "revise and
    resubmit") may carry a revised PDF; approvals given before it no longer count.
    ``seen_sha256``: the document's SHA-256 the person was shown; a different current document
    is a conflict (they decide on what they saw, or not at all). ``return_to``: a return for
    revision (processes/requests/task_actions.py): the decision is ``return``, the form is not
    asked, and the flow may route on ``return_to``. An added approver's task (加签) completes
    without the engine; a task waiting for its added approvers cannot be completed yet, and
    one with approvers added after it is held for them (processes/requests/added_approvers.py)."""
    task, req, candidate = locked_task(session, identity, task_id)
    require_open(task, req)
    inbox.check_may_work(session, identity.user, task, req, candidate)
    _check_seen(req, seen_sha256)
    added_approvers.check_not_waiting(session, task)
    decision = check_decision(decision)
    comment = None if comment is None else str(comment)[:4000]
    if task.parent_id is not None:
        if revision is not None or data:
            raise InvalidContent(msg("an added approver's task takes a decision and a comment "
                                     "only"),
                                 [{"field": "data", "message": msg("not accepted by this task")}])
        parent = added_approvers.complete_added(session, identity.user, task, req, decision,
                                                comment)
        if parent is not None:  # the last one after a held task: the flow goes on
            decided = (parent.held or {})["decided"]
            owner = session.get(User, decided["user_id"])
            assert owner is not None
            form = (req.process.tasks.get(parent.element_id) or {}).get("form", [])
            # As its owner decided; the flow takes a rejection if an added approver rejected.
            return finish(session, owner, parent, req,
                          check_values(form, decided["data"], extra_allowed=False),
                          decided["decision"], decided.get("comment"),
                          routed=decided.get("routed"))
        return req
    meta = req.process.tasks.get(task.element_id) or {}
    if return_to is not None:
        values: dict[str, Any] = {"return_to": return_to}
    else:
        values = check_values(meta.get("form", []), data or {}, extra_allowed=False)
        if decision == "return":
            values |= _return_route(meta)
    try:
        wf = engine.load(req.process, req.state)
    except StateUnreadable as exc:
        mark_incident(session, req, exc)
        return req
    manual = engine.is_manual_task(wf, task.id)
    if manual:
        _check_confirmation(decision, revision)
    if revision is not None:
        _revise(session, identity, task, req, revision)
    if not manual and added_approvers.hold(session, identity.user, task, req, decision,
                                           comment, data or {}):
        return req  # the approvers added after it decide next
    return finish(session, identity.user, task, req, values, decision, comment, wf=wf,
                  manual=manual)


def finish(session: Session, user: User, task: Task, req: Request, values: dict[str, Any],
           decision: str | None, comment: str | None, *, wf=None, manual: bool = False,
           routed: str | None = None) -> Request:
    """Complete ``task`` in the engine as ``user`` decided, record it, advance the instance.
    ``routed``: the decision the flow is given instead (an added approver after it rejected);
    the task's row keeps its owner's."""
    if wf is None:
        try:
            wf = engine.load(req.process, req.state)
        except StateUnreadable as exc:
            mark_incident(session, req, exc)
            return req
    # What was entered on the task's form, as checked (a return's route is no entry).
    entered = {k: v for k, v in values.items() if k != "return_to"}
    if not manual:  # a manual task sets no variable: the approvers' decision stays as it was
        values["decision"] = routed or decision
        values["comment"] = comment
    incident = None
    try:
        engine.complete(wf, task.id, values)
    except LookupError:
        raise WorkflowStateError(msg("task %(task)s is no longer waiting", task=task.id)) from None
    except EngineIncident as exc:
        incident = exc  # the task may have completed before a later step failed
    if engine.task_completed(wf, task.id):
        added_approvers.mark_completed(session, task, user, req, decision, comment, entered)
        extra: dict[str, Any] = {"routed": routed} if routed else {}
        audit.record(session, "task.completed", actor=user, request_id=req.id,
                     task=task.id, element=task.element_id, decision=decision, **extra)
    # The inbox follows the instance even when it stopped on an incident (tasks it cancelled
    # leave the inboxes).
    advance(session, req, wf, actor=user)
    if incident is None and req.status == RequestStatus.running:
        stranded = inbox.stranded_siblings(session, task)
        if stranded:
            incident = EngineIncident(stranded[0], msg(
                "no one may work the remaining instances of this countersign: every candidate "
                "already worked another instance (its instances need distinct people)"))
    if incident is not None:
        mark_incident(session, req, incident)
        return req
    logger.info("task %s of request %d completed by %s (%s)", task.id, req.id,
                user.name, decision)
    return req
