"""What may be done with a task besides completing it (the API is app/api/task_actions.py, the pages
app/web/task_actions.py):
return it for revision along a path drawn in the flow, delegate it (转办), add an approver
before or after it (加签; processes/requests/added_approvers.py), copy people on its request
(抄送). Each is audited, recorded as a :class:`TaskAction` (the request's history shows them),
and held to the separation-of-duties rules that hold for working the task."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, insert, or_, select
from sqlalchemy.orm import Session

from processes import audit, notices
from processes.db import update_now
from processes.errors import InvalidContent, Message, WorkflowStateError, msg
from processes.models import Request, TaskStatus, User
from processes.people.directory import Identity
from processes.requests import added_approvers, inbox, tasks
from processes.task_action_models import TaskAction
from processes.task_models import Task, TaskCandidate

MAX_REASON = 2000
MAX_COPIED = 50
POSITIONS = ("before", "after")


def return_targets(task: Task) -> list[dict[str, str]]:
    """Where ``task`` may send its request back (``[{id, name}]``), as deployed."""
    if task.parent_id is not None:
        return []
    meta = task.request.process.tasks.get(task.element_id) or {}
    return list(meta.get("return_targets") or [])


def _text(value: Any, field: str, *, required: bool) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text and required:
        raise InvalidContent(msg("%(field)s is required: say why", field=field),
                             [{"field": field, "message": msg("is required: say why")}])
    if len(text) > MAX_REASON:
        raise InvalidContent(
            msg("%(field)s is longer than %(most)s characters", field=field, most=MAX_REASON),
            [{"field": field, "message": msg("at most %(most)s characters", most=MAX_REASON)}])
    return text or None


def _person(session: Session, name: Any, field: str) -> User:
    return _people(session, [name], field)[0]


def _people(session: Session, names: list[Any], field: str) -> list[User]:
    """The active users ``names`` name, in one statement; the first that names none is refused."""
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidContent(msg("%(field)s must name a user", field=field),
                                 [{"field": field, "message": msg("must name a user")}])
    wanted = [name.strip() for name in names]
    found = {u.name: u for u in session.execute(
        select(User).where(User.name.in_(set(wanted)))).scalars()}
    for name in wanted:
        user = found.get(name)
        if user is None or not user.active:
            raise InvalidContent(
                msg("%(field)s: there is no active user '%(name)s'", field=field, name=name),
                [{"field": field, "message": msg("no such active user")}])
    return [found[name] for name in wanted]


def _refuse(field: str, message: Message) -> InvalidContent:
    return InvalidContent(message, [{"field": field, "message": message}])


def _locked(session: Session, identity: Identity, task_id: str) -> tuple[Task, Request]:
    """The open task, its request locked; the caller may work it now, or is an admin."""
    task, req, candidate = tasks.locked_task(session, identity, task_id)
    tasks.require_open(task, req)
    if not identity.has_role("admin"):
        inbox.check_may_work(session, identity.user, task, req, candidate)
    return task, req


def _check_may_take(session: Session, req: Request, task: Task, user: User, field: str) -> None:
    """Separation of duties for a person who would work ``task``: never the requester (an added
    approver or a delegate approves), nor the filer, nor someone who worked or holds another
    instance of its countersign."""
    if user.id == req.requester_id:
        raise _refuse(field, msg("the requester cannot approve their own request"))
    if req.created_by_id == user.id:
        raise _refuse(field, msg("whoever filed the request on someone's behalf may not work "
                                 "its tasks"))
    if task.activity is not None and session.execute(select(exists().where(
            Task.activity == task.activity, Task.id != task.id, or_(
                Task.completed_by_id == user.id,
                (Task.status == TaskStatus.open) & (Task.assignee == user.name))))).scalar():
        raise _refuse(field, msg("%(user)s works another instance of this countersign: its "
                                 "instances need distinct people", user=user.name))


def _record(session: Session, identity: Identity, req: Request, task: Task, kind: str,
            user: User | None = None, target: str | None = None,
            reason: str | None = None) -> TaskAction:
    action = _action(identity, req, task, kind, user, target=target, reason=reason)
    session.add(action)
    session.flush()
    return action


def _action(identity: Identity, req: Request, task: Task, kind: str, user: User | None = None,
            target: str | None = None, reason: str | None = None) -> TaskAction:
    return TaskAction(request_id=req.id, task_id=task.id, kind=kind, actor_id=identity.user.id,
                      user_id=user.id if user else None, target=target, reason=reason)


def send_back(session: Session, identity: Identity, task_id: str, *, to: Any,
              reason: Any) -> Request:
    """Complete the task with the decision ``return`` toward ``to`` (one of its return
    targets; may be left out when there is one). 409 when the flow draws no return path."""
    task = tasks.get_visible(session, identity, task_id)
    inbox.check_may_work(session, identity.user, task, task.request)
    targets = return_targets(task)
    if not targets:
        raise WorkflowStateError(msg(
            "task '%(task)s' cannot send the request back: the flow draws no path from its "
            "decision 'return'", task=task.name))
    reason = _text(reason, "reason", required=True)
    ids = [t["id"] for t in targets]
    if to is None and len(ids) == 1:
        to = ids[0]
    if to not in ids:
        options = ", ".join(f"{t['id']} ({t['name']})" for t in targets)
        raise InvalidContent(
            msg("to must be one of this task's return targets: %(options)s", options=options)
            if to is not None else
            msg("this task may send the request back to several steps; choose one with to: "
                "%(options)s", options=options),
            [{"field": "to", "message": msg("not a return target"), "options": ids}])
    req = tasks.complete(session, identity, task_id, decision="return", comment=reason,
                         return_to=to)
    if task.status == TaskStatus.completed:
        _record(session, identity, req, task, "return", target=to, reason=reason)
        audit.record(session, "task.returned", actor=identity.user, request_id=req.id,
                     task=task.id, to=to, reason=reason)
    return req


def delegate(session: Session, identity: Identity, task_id: str, *, to: Any,
             reason: Any) -> Task:
    """转办: ``to`` becomes the task's only assignee (its claim dropped)."""
    task, req = _locked(session, identity, task_id)
    reason = _text(reason, "reason", required=True)
    user = _person(session, to, "to")
    if task.assignee == user.name:
        raise _refuse("to", msg("the task is assigned to %(user)s already", user=user.name))
    if task.requester_may_work:
        raise WorkflowStateError(msg("a task of the requester's own cannot be delegated"))
    _check_may_take(session, req, task, user, "to")
    previous = task.assignee or ", ".join(task.candidate_users + task.candidate_groups)
    task.assignee = user.name
    task.candidate_users = [user.name]
    task.candidate_groups = []
    task.claimed_by_id = None
    update_now(session, task)
    session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == task.id))
    session.execute(insert(TaskCandidate), [{"task_id": task.id, "user_id": user.id}])
    _record(session, identity, req, task, "delegate", user, reason=reason)
    audit.record(session, "task.delegated", actor=identity.user, request_id=req.id,
                 task=task.id, to=user.name, previous=previous, reason=reason)
    notices.notify(session, [user.id], "task.delegated",
                   msg("Request #%(id)s's task “%(task)s” was delegated to you.", id=req.id,
                       task=task.name), link=f"/tasks/{task.id}")
    return task


def add_approver(session: Session, identity: Identity, task_id: str, *, user: Any,
                 position: Any, reason: Any) -> Task:
    """加签: ``user`` approves before the task can be completed, or after it, before the flow
    moves on. Returns the flow task."""
    task, req = _locked(session, identity, task_id)
    if position not in POSITIONS:
        raise _refuse("position", msg("position must be before or after"))
    reason = _text(reason, "reason", required=True)
    added = _person(session, user, "user")
    if task.parent_id is not None:
        raise WorkflowStateError(msg("an added approver's task takes no further approvers"))
    if (req.process.tasks.get(task.element_id) or {}).get("manual"):
        raise WorkflowStateError(msg("a manual task is confirmed done, not approved: it takes "
                                     "no added approvers"))
    held = dict(task.held or {})
    if held.get("decided"):
        raise WorkflowStateError(msg("the task was decided already and waits for its added "
                                     "approvers"))
    if added.id == identity.user.id:
        raise _refuse("user", msg("you cannot add yourself as an approver"))
    _check_may_take(session, req, task, added, "user")
    pending = {e["user_id"] for e in held.get("after") or []} | {
        uid for uid, in session.execute(select(TaskCandidate.user_id).join(
            Task, Task.id == TaskCandidate.task_id).where(
            Task.parent_id == task.id, Task.status == TaskStatus.open))}
    if added.id in pending:
        raise _refuse("user", msg("%(user)s is already an added approver of this task",
                                  user=added.name))
    if position == "before":
        child = added_approvers.open_added(session, req, task, added, "before")
        action = _record(session, identity, req, task, "add_before", added, target=child.id,
                         reason=reason)
        held["before"] = [*held.get("before", []), child.id]
    else:
        action = _record(session, identity, req, task, "add_after", added, reason=reason)
        held["after"] = [*held.get("after", []), {"user_id": added.id,
                                                   "action_id": action.id}]
    task.held = held
    update_now(session, task)
    audit.record(session, "task.approver_added", actor=identity.user, request_id=req.id,
                 task=task.id, user=added.name, position=position, reason=reason)
    return task


def copy_to(session: Session, identity: Identity, task_id: str, *, users: Any,
            note: Any) -> list[str]:
    """抄送: tell ``users`` of the request; they may then see it, read-only (they are no
    candidates of any task). Returns the names newly copied."""
    task, req = _locked(session, identity, task_id)
    if not isinstance(users, list) or not users:
        raise _refuse("users", msg("users must be a non-empty list of user names"))
    if len(users) > MAX_COPIED:
        raise _refuse("users", msg("at most %(most)s people can be copied at once",
                                   most=MAX_COPIED))
    note = _text(note, "note", required=False)
    people = {u.id: u for u in _people(session, users, "users")}
    already = set(session.execute(select(TaskAction.user_id).where(
        TaskAction.request_id == req.id, TaskAction.kind == "cc")).scalars())
    new = [u for uid, u in sorted(people.items()) if uid not in already]
    session.add_all([_action(identity, req, task, "cc", user, reason=note) for user in new])
    session.flush()  # one INSERT of every copy
    if new:
        audit.record(session, "task.copied", actor=identity.user, request_id=req.id,
                     task=task.id, users=[u.name for u in new], note=note)
        notices.notify(session, [u.id for u in new], "request.copied",
                       msg("%(by)s copied you on request #%(id)s (%(task)s). %(note)s",
                           by=identity.user.display_name, id=req.id, task=task.name,
                           note=note or ""), link=f"/requests/{req.id}")
    return [u.name for u in new]
