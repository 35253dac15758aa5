"""Reminding (催办): a requester tells the people who hold their request's current step(s)
that it is waiting for them; at most once an hour per request.

Each reminder is a ``remind`` task action (the request's history shows it; the latest one
says when the next is allowed) and an audit event; the people are told as a new task tells
them: an in-app notice, mailed after the commit (processes/notices.py, notice_mail.py). A
claimed task reminds its claimant; an unclaimed one its candidates (users and the members of
its groups); never the requester.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processes import audit, notices
from processes.db import lock_request
from processes.errors import NotAllowed, NotFound, WorkflowStateError, msg
from processes.models import Membership, Request, RequestStatus, TaskStatus, utcnow
from processes.people.directory import Identity
from processes.requests.queries import get_visible
from processes.task_action_models import TaskAction
from processes.task_models import Task, TaskCandidate

INTERVAL = timedelta(hours=1)
"""The shortest time between two reminders of one request."""


class TooSoon(WorkflowStateError):
    """A reminder within the hour; ``next_at`` says when the next one is allowed."""

    code = "too_soon"

    def __init__(self, message: str, next_at: datetime) -> None:
        super().__init__(message, [{"field": None, "next_at": next_at.isoformat()}])
        self.next_at = next_at


def last_reminded(session: Session, request_id: int) -> datetime | None:
    """When the request's requester last reminded, or None."""
    at = session.execute(select(func.max(TaskAction.created_at)).where(
        TaskAction.request_id == request_id, TaskAction.kind == "remind")).scalar()
    if at is None:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def next_allowed(session: Session, request_id: int) -> datetime | None:
    """When the next reminder is allowed, if that is in the future; None: now."""
    last = last_reminded(session, request_id)
    if last is None or last + INTERVAL <= utcnow():
        return None
    return last + INTERVAL


def _holders(session: Session, req: Request) -> dict[str, list[int]]:
    """The open tasks' ids, each with the users who hold it (one statement)."""
    direct = (select(Task.id, TaskCandidate.user_id)
              .join(TaskCandidate, TaskCandidate.task_id == Task.id)
              .where(Task.request_id == req.id, Task.status == TaskStatus.open,
                     Task.claimed_by_id.is_(None), TaskCandidate.user_id.is_not(None)))
    members = (select(Task.id, Membership.user_id)
               .join(TaskCandidate, TaskCandidate.task_id == Task.id)
               .join(Membership, Membership.group_id == TaskCandidate.group_id)
               .where(Task.request_id == req.id, Task.status == TaskStatus.open,
                      Task.claimed_by_id.is_(None)))
    claimed = select(Task.id, Task.claimed_by_id).where(
        Task.request_id == req.id, Task.status == TaskStatus.open,
        Task.claimed_by_id.is_not(None))
    found: dict[str, list[int]] = {}
    for task_id, user_id in session.execute(direct.union(members, claimed)).all():
        if user_id is not None and user_id != req.requester_id:
            found.setdefault(task_id, []).append(user_id)
    return found


def remind(session: Session, identity: Identity, request_id: int) -> int:
    """Remind the people holding ``request_id``'s open tasks; returns how many were told.

    :raises NotAllowed: the caller is not the requester.
    :raises WorkflowStateError: the request waits for no one (not running, no open task).
    :raises TooSoon: the last reminder was less than an hour ago.
    """
    req = get_visible(session, identity, request_id)
    if req.requester_id != identity.user.id:
        raise NotAllowed(msg("only the requester may send a reminder"))
    locked = lock_request(session, request_id)  # two reminders at once: one is sent
    if locked is None:
        raise NotFound(msg("no request %(request_id)s", request_id=request_id))
    req = locked
    if req.status != RequestStatus.running:
        raise WorkflowStateError(msg("request %(id)s waits for no one to approve it",
                                     id=req.id))
    later = next_allowed(session, req.id)
    if later is not None:
        raise TooSoon(msg("A reminder was sent less than an hour ago; the next one may be "
                          "sent at %(at)s.", at=later.isoformat()), later)
    holders = _holders(session, req)
    if not holders:
        raise WorkflowStateError(msg("request %(id)s waits for no one to approve it",
                                     id=req.id))
    names = dict(session.execute(select(Task.id, Task.name).where(
        Task.id.in_(holders))).tuples().all())
    told = 0
    for task_id, user_ids in sorted(holders.items()):
        name = names.get(task_id, "")
        told += notices.notify(
            session, user_ids, "request.reminded",
            msg("%(by)s asks you to act on request #%(id)s at “%(task)s”.",
                by=identity.user.display_name, id=req.id, task=name),
            link=f"/tasks/{task_id}")
    session.add(TaskAction(request_id=req.id, task_id=None, kind="remind",
                           actor_id=identity.user.id, created_at=utcnow()))
    audit.record(session, "request.reminded", actor=identity.user, request_id=req.id,
                 tasks=sorted(holders), people=told)
    return told
