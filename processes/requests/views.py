"""What the API and the pages show of requests and tasks (DESIGN: the JSON shapes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from processes.errors import reason_of
from processes.models import Request, RequestStatus, SigningGrant, TaskStatus, User
from processes.requests.advancing import (
    NEW_GRANTS_KEY,
    NEW_REQUESTS_KEY,
    OPEN_TASKS,
    OPEN_TASKS_KEY,
)
from processes.seals import approvals
from processes.task_action_models import TaskAction
from processes.task_models import Task

_COMPLETER = aliased(User)
# The history as plain rows (a long-running request has a thousand of them: no ORM objects),
# with the requester's name riding along.
_HISTORY = (
    select(Task.id, Task.element_id, Task.name, _COMPLETER.name, _COMPLETER.display_name,
           Task.decision, Task.comment, Task.data, Task.completed_at)
    .join(_COMPLETER, _COMPLETER.id == Task.completed_by_id)
    .where(Task.request_id == bindparam("rid"), Task.status == TaskStatus.completed)
    .order_by(Task.completed_at, Task.id))
# The latest entries only (a completion's response): newest first, limited, then put back in
# order; with the total beside them.
# The total is a count of the index's entries, not a window over the rows: a window reads and
# sorts every done task of the request, which grew with each round of revision.
_DONE_COUNT = (
    select(func.count()).select_from(Task)
    .where(Task.request_id == bindparam("rid"), Task.status == TaskStatus.completed)
    .scalar_subquery())
_RECENT_HISTORY = (
    select(Task.id, Task.element_id, Task.name, _COMPLETER.name, _COMPLETER.display_name,
           Task.decision, Task.comment, Task.data, Task.completed_at, _DONE_COUNT)
    .join(_COMPLETER, _COMPLETER.id == Task.completed_by_id)
    .where(Task.request_id == bindparam("rid"), Task.status == TaskStatus.completed)
    .order_by(Task.completed_at.desc(), Task.id.desc()).limit(bindparam("limit")))


def describe(session: Session, req: Request, *, recent: int | None = None) -> dict:
    """The API's view of a request (DESIGN: GET /api/v1/requests/<id>).

    ``recent``: only the latest entries of the history (the answer to a completion, so that a
    request with a thousand rounds of revision costs no more to work than a new one); the
    answer then says ``history_total`` and ``history_truncated``, and GET gives it all."""
    # A request made in this transaction has no history, and its inbox rows are known.
    new = req.id in session.info.get(NEW_REQUESTS_KEY, ())
    open_tasks = session.info.get(OPEN_TASKS_KEY, {}).get(req.id)
    if open_tasks is None:
        open_tasks = [] if new else list(session.execute(OPEN_TASKS, {"rid": req.id}).scalars())
    total = None
    history: Sequence[Any]
    if new:
        history, total = [], (None if recent is None else 0)
    elif recent is None:
        history = session.execute(_HISTORY, {"rid": req.id}).all()
    else:
        rows = session.execute(_RECENT_HISTORY, {"rid": req.id, "limit": recent}).all()
        total = rows[0][-1] if rows else 0
        history = [row[:-1] for row in reversed(rows)]
    requester = req.requester
    return {
        "id": req.id,
        "status": req.status.value,
        "process": {"key": req.process.key, "version": req.process.version},
        "business_type": req.business_type,
        "seal": req.seal_id,
        "requester": requester.name,
        "document": ({"sha256": req.document.sha256, "filename": req.filename,
                      "pages": req.document.pages} if req.document is not None else None),
        # What its approvers approve: the document's SHA-256, or a lifecycle request's data's.
        "subject_sha256": approvals.subject_sha256(req),
        "placement": req.placement,
        "data": req.data,
        "tasks": [describe_task(t) for t in sorted(open_tasks, key=lambda t: (t.created_at,
                                                                              t.id))],
        # Each decision with the values entered on its task's form (``data``).
        "history": [{"task": tid, "element": element, "name": name, "by": by,
                     "by_display_name": by_display, "decision": decision, "comment": comment,
                     "data": data or {}, "at": at.isoformat() if at else None}
                    for tid, element, name, by, by_display, decision, comment, data, at
                    in history],
        # Returned, delegated, approvers added, people copied (GET only: the full record).
        **({} if recent is not None or new else {"actions": actions(session, req)}),
        "sealed_document": ({"sha256": req.sealed_document.sha256}
                            if req.sealed_document is not None else None),
        "failure": req.failure_reason,
        "sealing": _sealing(session, req),
        "created_at": req.created_at.isoformat(),
        "updated_at": req.updated_at.isoformat(),
    } | ({} if total is None else {"history_total": total,
                                    "history_truncated": total > len(history)})


_ACTOR = aliased(User)
_NAMED = aliased(User)
_ACTIONS = (
    select(TaskAction, _ACTOR.name, _ACTOR.display_name, _NAMED.name, _NAMED.display_name)
    .join(_ACTOR, _ACTOR.id == TaskAction.actor_id, isouter=True)
    .join(_NAMED, _NAMED.id == TaskAction.user_id, isouter=True)
    .where(TaskAction.request_id == bindparam("rid")).order_by(TaskAction.id))


def actions(session: Session, req: Request) -> list[dict[str, Any]]:
    """The request's task actions, oldest first: ``{kind, task, by, by_display_name, user,
    user_display_name, target, reason, at}`` (kind: return, delegate, add_before, add_after,
    cc, claim, unclaim)."""
    return [{"kind": a.kind, "task": a.task_id, "by": by, "by_display_name": by_display,
             "user": user, "user_display_name": user_display, "target": a.target,
             "reason": a.reason, "at": a.created_at.isoformat()}
            for a, by, by_display, user, user_display
            in session.execute(_ACTIONS, {"rid": req.id}).all()]


def _sealing(session: Session, req: Request) -> dict | None:
    """What an authorized request's sealing waits for, when it waits for something: the
    timestamp service (``{waiting_for, try, of, next_at, reason}``: the next try's number, how
    many there will be at most, when, and why the last one failed); otherwise None."""
    if req.status != RequestStatus.authorized or req.id in session.info.get(NEW_GRANTS_KEY, ()):
        return None  # a grant written by this transaction waits for nothing yet
    waiting = session.execute(select(SigningGrant.waiting).where(
        SigningGrant.request_id == req.id)).scalar_one_or_none()
    if not waiting:
        return None
    return {"waiting_for": waiting["for"], "try": waiting["try"], "of": waiting["of"],
            "next_at": waiting["next_at"], "reason": reason_of(waiting)}


def describe_task(task: Task, form: list[dict] | None = None) -> dict:
    meta = task.request.process.tasks.get(task.element_id) or {}
    if form is None:  # an added approver's task (加签) takes a decision and a comment only
        form = [] if task.parent_id else meta.get("form", [])
    return {
        "id": task.id, "request_id": task.request_id, "name": task.name,
        "element_id": task.element_id, "lane": task.lane, "assignee": task.assignee,
        "candidate_groups": task.candidate_groups, "candidate_users": task.candidate_users,
        "claimed_by": task.claimed_by.name if task.claimed_by is not None else None,
        # A manual task is confirmed done: it takes no decision and is never an approval.
        "manual": bool(meta.get("manual")),
        "form": [{"id": f["id"], "label": f.get("label"), "type": f.get("type"),
                  "required": bool(f.get("required")), "default": f.get("default"),
                  "values": f.get("values", [])} for f in form],
        "created_at": task.created_at.isoformat(),
        "due_at": task.due_at.isoformat() if task.due_at else None,
        # Out-of-office: [{absent, deputy}] stood in; [{absent, deputy, kept}] could not.
        "deputies": task.deputies or [],
        # Where a return sends the request back (POST .../return ``to``); none: it cannot.
        "return_targets": [] if task.parent_id else list(meta.get("return_targets") or []),
        # An added approver's task (加签): the flow task it comes before or after.
        "added": ({"to": task.parent_id, "position": task.position}
                  if task.parent_id else None),
    }
