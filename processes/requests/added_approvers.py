"""Added approvers (加签), within SpiffWorkflow's limits: an added approver's task is Sealflow's
own inbox row (``Task.parent_id``: the flow task it gates), never a task of the engine.

"before": the added task opens now, and the flow task cannot be completed until it is decided
(the flow task waits, with its owner). "after": when the flow task's owner approves, their
decision is held on the flow task (``Task.held``) and the added task opens; once it is decided
the flow task completes in the engine as its owner decided, unless an added approver rejected:
then the flow takes the rejection (the flow task's row keeps its owner's decision). An added
approver's approval is an approval by that person like any other: it meets a seal policy's
demand only through the roles the person holds."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from processes import audit, candidates, notices
from processes.db import insert_now, update_now
from processes.errors import InvalidContent, WorkflowStateError, msg
from processes.models import Request, TaskStatus, User, utcnow
from processes.seals import approvals
from processes.task_action_models import TaskAction
from processes.task_models import Task, TaskCandidate

_OPEN_CHILDREN = select(Task).where(Task.parent_id == bindparam("pid"),
                                    Task.status == TaskStatus.open)


def open_children(session: Session, task: Task) -> list[Task]:
    with session.no_autoflush:
        return [t for t in session.execute(_OPEN_CHILDREN, {"pid": task.id}).scalars()
                if t.status == TaskStatus.open]


def check_not_waiting(session: Session, task: Task) -> None:
    """A flow task waiting for its added approvers cannot be completed (409)."""
    held = task.held or {}
    if held.get("decided"):
        raise WorkflowStateError(msg(
            "task %(task)s was decided already and waits for the approvers added after it",
            task=task.id))
    if held.get("before"):
        waiting = open_children(session, task)
        if waiting:
            names = ", ".join(sorted(t.assignee or "?" for t in waiting))
            raise WorkflowStateError(msg(
                "task %(task)s waits for the approvers added before it (%(names)s): it can be "
                "completed once they have decided", task=task.id, names=names))


def open_added(session: Session, req: Request, parent: Task, user: User,
               position: str) -> Task:
    """The inbox row of an added approver, for ``user`` alone."""
    task = Task(id=str(uuid.uuid4()), request_id=req.id, element_id=parent.element_id,
                name=parent.name, lane=parent.lane, status=TaskStatus.open,
                assignee=user.name, candidate_users=[user.name], candidate_groups=[],
                requester_may_work=False, created_at=utcnow(), due_at=parent.due_at,
                parent_id=parent.id, position=position)
    insert_now(session, task)
    session.execute(insert(TaskCandidate), [{"task_id": task.id, "user_id": user.id}])
    audit.record(session, "task.created", request_id=req.id, task=task.id,
                 element=parent.element_id, added_by=parent.id, position=position)
    notices.notify(session, [user.id], "task.added",
                   msg("You were added as an approver of request #%(id)s at “%(task)s”.",
                       id=req.id, task=parent.name), link=f"/tasks/{task.id}")
    return task


def hold(session: Session, user: User, task: Task, req: Request, decision: str | None,
         comment: str | None, data: dict[str, Any]) -> bool:
    """The owner approved a flow task with approvers added after it: hold the decision (with
    the form's ``data`` as given, checked already) and open their tasks. False (complete it
    now) when there are none, or the decision is not approve."""
    held = task.held or {}
    pending = held.get("after") or []
    if not pending or decision != "approve":
        return False
    for entry in pending:
        added_user = session.get(User, entry["user_id"])
        if added_user is None or not added_user.active:
            continue
        added = open_added(session, req, task, added_user, "after")
        action = session.get(TaskAction, entry["action_id"])
        if action is not None:
            action.target = added.id
    task.held = {**held, "after": [], "decided": {
        "user_id": user.id, "decision": decision, "comment": comment, "data": data,
        "at": utcnow().isoformat()}}
    update_now(session, task)
    audit.record(session, "task.held", actor=user, request_id=req.id, task=task.id,
                 decision=decision, waiting_for=[e["user_id"] for e in pending])
    return True


def mark_completed(session: Session, task: Task, user: User, req: Request,
                   decision: str | None, comment: str | None,
                   data: dict[str, Any] | None = None) -> None:
    """A task row decided by ``user``: one UPDATE now (no unit of work at the commit), its
    candidate rows closed, the document it was decided on recorded (approvals of an older
    revision don't count), with the values entered on its form (``data``; none: None)."""
    task.status = TaskStatus.completed
    task.completed_by_id = user.id
    task.completed_at = utcnow()
    task.decision = decision
    task.comment = comment
    task.data = data or None
    task.document_sha256 = approvals.subject_sha256(req)
    update_now(session, task)
    candidates.close(session, [task.id])


def complete_added(session: Session, user: User, task: Task, req: Request,
                   decision: str | None, comment: str | None) -> Task | None:
    """Record an added approver's decision; the flow task it held, when it was the last one
    after it (the caller completes that one in the engine), else None."""
    if decision not in ("approve", "reject"):
        raise InvalidContent(msg("an added approver approves or rejects"),
                             [{"field": "decision", "message": msg("must be approve or reject")}])
    mark_completed(session, task, user, req, decision, comment)
    audit.record(session, "task.completed", actor=user, request_id=req.id, task=task.id,
                 element=task.element_id, decision=decision, added=task.position)
    parent = session.get(Task, task.parent_id)
    if parent is None or parent.status != TaskStatus.open:
        return None
    held = parent.held or {}
    if held.get("decided") and decision != "approve":
        held = {**held, "decided": {**held["decided"], "routed": decision}}
        parent.held = held
        update_now(session, parent)
    if held.get("decided") and not [t for t in open_children(session, parent)
                                    if t.id != task.id]:
        return parent
    return None
