"""The inbox, the domain's side (its page is app/web/inbox.py): who may work a user task and the
task rows (who may see a request: :mod:`processes.requests.visibility`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    Boolean,
    Integer,
    Table,
    bindparam,
    exists,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from processes import audit, notices
from processes.db import insert_now, transaction_cache
from processes.errors import NotAllowed, msg
from processes.flows.engine import EngineIncident
from processes.flows.expressions import ExpressionError, evaluate
from processes.isotime import due_from, is_iso_timer
from processes.models import Group, Membership, Request, TaskStatus, User, utcnow
from processes.people import out_of_office
from processes.people.directory import Identity
from processes.requests.visibility import candidate_clause, involved_clause
from processes.task_models import Task, TaskCandidate

_EXPR = re.compile(r"^\s*[$#]\{.*\}\s*$", re.DOTALL)
_REQUESTER = re.compile(r"^\s*[$#]\{\s*requester\s*\}\s*$")


def _names(raw: str | None, variables: dict[str, Any], element: str) -> list[str]:
    """A performer attribute: literal comma-separated names, or an expression giving names."""
    if raw is None or not raw.strip():
        return []
    if _EXPR.match(raw):
        try:
            value = evaluate(raw, variables)
        except ExpressionError as exc:
            raise EngineIncident(element, exc.message) from None
        if value is None:
            return []
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, (list, tuple, set)):
            raise EngineIncident(element, msg("%(expression)s gave %(value)s, not a list of "
                                              "names", expression=raw, value=repr(value)))
        return [str(v).strip() for v in value if str(v).strip()]
    return [p.strip() for p in raw.split(",") if p.strip()]


def due_at(raw: str | None, variables: dict[str, Any], element: str) -> datetime | None:
    """``camunda:dueDate``: an ISO date, date-time or duration, or an expression giving one."""
    if raw is None or not raw.strip():
        return None
    try:
        value = raw if is_iso_timer(raw) else evaluate(raw, variables)
        if isinstance(value, datetime):
            return value.astimezone(UTC)
        return due_from(str(value))
    except (ExpressionError, ValueError, OverflowError) as exc:  # overflow: year 1, P9999Y
        raise EngineIncident(element, msg("dueDate %(raw)s: %(error)s", raw=repr(raw),
                                          error=getattr(exc, "message", None) or str(exc))) \
            from None


def _groups(session: Session, refs: list[str]) -> list[Group]:
    """Groups named by key, or by display name (lanes may carry Chinese labels)."""
    if not refs:
        return []
    return list(session.execute(
        select(Group).where(or_(Group.key.in_(refs), Group.name.in_(refs)))).scalars())


@dataclass(frozen=True)
class Performers:
    """Who a user task names (its assignee, candidate users and groups, resolved from the
    instance's data), and which of them could work it, before anyone is excluded."""

    assignee: str | None
    user_names: list[str]
    group_refs: list[str]
    requester_may: bool
    users: list[Any]  # rows: id, name, active
    groups: list[Group]
    able: frozenset[int]


def performers(session: Session, element_id: str, meta: dict[str, Any],
               variables: dict[str, Any]) -> Performers:
    """The people a READY user task names, read (EngineIncident: an expression fails)."""
    assignee_raw = meta.get("assignee")
    users_raw = meta.get("candidate_users")
    groups_raw = meta.get("candidate_groups")
    assignee = next(iter(_names(assignee_raw, variables, element_id)), None)
    user_names = _names(users_raw, variables, element_id)
    group_refs = _names(groups_raw, variables, element_id)
    if not (assignee_raw or users_raw or groups_raw) and meta.get("lane"):
        group_refs = [meta["lane"]]
    requester_may = bool(
        (assignee_raw and _REQUESTER.match(assignee_raw))
        or any(_REQUESTER.match(p) for p in (users_raw or "").split(",")))
    wanted = [assignee] if assignee else user_names
    with session.no_autoflush:  # reads of people only; the advance is written in one flush
        users = list(session.execute(_USERS_NAMED, {"names": wanted, "now": utcnow()}).all()) \
            if wanted else []
        groups = [] if assignee else _groups(session, group_refs)
        able = {u.id for u in users if u.active}
        if groups:
            able |= set(session.execute(
                select(Membership.user_id).join(User, User.id == Membership.user_id)
                .where(Membership.group_id.in_([g.id for g in groups]),
                       User.active.is_(True))).scalars())
    return Performers(assignee, user_names, group_refs, requester_may, users, groups,
                      frozenset(able))


def open_task(session: Session, req: Request, task_id: str, element_id: str,
              meta: dict[str, Any], variables: dict[str, Any],
              activity: str | None = None, found: Performers | None = None) -> Task:
    """Create the inbox row of a READY user task with its resolved performers (``found``: as
    :func:`performers` read them already; read now if None).

    Separation of duties: the requester is excluded (unless ``${requester}`` is named), so is
    whoever filed the request on the requester's behalf, and, for an instance of a
    multi-instance ``activity``, whoever worked another instance of it. Raises EngineIncident
    when nobody may work it then.
    """
    found = found or performers(session, element_id, meta, variables)
    assignee, user_names, group_refs = found.assignee, found.user_names, found.group_refs
    requester_may, users, groups = found.requester_may, found.users, found.groups
    able = set(found.able)
    excluded = set() if requester_may else {req.requester_id}
    if req.created_by_id != req.requester_id:
        excluded.add(req.created_by_id)
    if activity is not None:
        excluded |= _sibling_workers(session, req, activity, assignee, element_id)
    able -= excluded
    users = [u for u in users if u.id not in excluded]
    created = utcnow()
    handed = out_of_office.hand_over(assignee, users, excluded=excluded,
                                     requester_id=req.requester_id)
    if handed.records:  # out-of-office: the deputies stand in (recorded on the task, audited)
        assignee, users = handed.assignee, handed.users
        able = (able - {r.id for r in found.users}) | {u.id for u in users if u.active}
        for record in handed.records:
            details: dict[str, Any] = dict(record)
            audit.record(session, "task.deputy_refused" if "kept" in record
                         else "task.deputised", request_id=req.id, task=task_id, **details)
    if not able:
        who = ", ".join(filter(None, [assignee, *user_names, *group_refs])) or msg("nobody")
        raise EngineIncident(element_id, msg(
            "no one may work task '%(name)s' (%(element)s): candidates [%(who)s] are unknown, "
            "inactive, or excluded as the requester, the filer, or for having worked another "
            "instance of this countersign", name=meta.get("name"), element=element_id, who=who))
    task = Task(id=task_id, request_id=req.id, element_id=element_id, activity=activity,
                name=meta.get("name") or element_id, lane=meta.get("lane"),
                status=TaskStatus.open, assignee=assignee,
                candidate_users=[u.name for u in users] if not assignee else [],
                candidate_groups=[g.key for g in groups], requester_may_work=requester_may,
                created_at=created, due_at=due_at(meta.get("due_date"), variables, element_id),
                deputies=handed.records or None)
    # Written now as plain rows (the row and its candidates: two INSERTs), not by the flush.
    insert_now(session, task)
    rows = [{"task_id": task_id, "user_id": u.id, "group_id": None} for u in users] + [
        {"task_id": task_id, "user_id": None, "group_id": g.id} for g in groups]
    if rows:
        session.connection().execute(_INSERT_CANDIDATES, rows)
    notices.task_assigned(session, able, req.id, task_id, task.name)
    return task


def _sibling_workers(session: Session, req: Request, activity: str, assignee: str | None,
                     element_id: str) -> set[int]:
    """Who already worked another instance of the multi-instance ``activity`` (they may not
    work this one); an instance assigned to the same person as another is an incident."""
    with session.no_autoflush:
        siblings = [t for t in session.execute(_SIBLINGS, {"act": activity}).scalars()]
    siblings += [t for t in session.new if isinstance(t, Task) and t.activity == activity]
    if assignee and any(t.assignee == assignee and t.status != TaskStatus.cancelled
                        for t in siblings):
        raise EngineIncident(element_id, msg(
            "the countersign '%(element)s' names %(assignee)s for more than one of its "
            "instances: they need distinct people", element=element_id, assignee=assignee))
    return {t.completed_by_id for t in siblings
            if t.status == TaskStatus.completed and t.completed_by_id is not None}


def stranded_siblings(session: Session, task: Task) -> list[str]:
    """The open instances of ``task``'s multi-instance activation that no one may work any
    more: all their candidates worked another instance (or are excluded as the requester or
    filer). Such an instance would wait forever: the caller makes it an incident."""
    if task.activity is None:
        return []
    req = task.request
    stranded = []
    for sibling in session.execute(_SIBLINGS, {"act": task.activity}).scalars():
        if sibling.status != TaskStatus.open or sibling.id == task.id:
            continue
        filer = req.created_by_id if req.created_by_id != req.requester_id else None
        if not session.execute(_ANYONE_LEFT, {"tid": sibling.id, "act": task.activity,
                                              "req_uid": req.requester_id, "filer": filer,
                                              "requester_may": sibling.requester_may_work}
                               ).scalar():
            stranded.append(sibling.element_id)
    return stranded


_Added = aliased(Task)


def waits_for_added():
    """True when ``Task`` waits for an approver added before or after it (加签)."""
    return exists().where(_Added.parent_id == Task.id, _Added.status == TaskStatus.open)


def check_may_work(session: Session, user: User, task: Task, req: Request,
                   is_candidate: bool | None = None) -> None:
    """Raise NotAllowed unless ``user`` may complete ``task`` (candidates, SoD, claim)."""
    if req.requester_id == user.id and not task.requester_may_work:
        raise NotAllowed(msg("the requester cannot approve their own request"))
    if req.created_by_id == user.id and req.requester_id != user.id:
        raise NotAllowed(msg("whoever filed a request on someone's behalf may not work its "
                             "tasks"))
    if task.activity is not None and session.execute(
            _WORKED_SIBLING, {"uid": user.id, "act": task.activity, "tid": task.id}).scalar():
        raise NotAllowed(msg("you already worked another instance of this countersign: its "
                             "instances need distinct people"))
    if is_candidate is None:
        is_candidate = bool(session.execute(
            _IS_CANDIDATE, {"uid": user.id, "tid": task.id}).scalar())
    if not is_candidate:
        raise NotAllowed(msg("you are not among the people who may work this task"))
    if task.claimed_by_id is not None and task.claimed_by_id != user.id:
        raise NotAllowed(msg("this task is claimed by someone else"))


# Hot-path statements are built once: building and keying a statement costs several times
# more than running it on SQLite.
_UID: BindParameter[int] = bindparam("uid")
_RID: BindParameter[int] = bindparam("rid")
_SID: BindParameter[int] = bindparam("sid")
_TID: BindParameter[str] = bindparam("tid")
_TASK_FOR_WORK = (
    select(Task, involved_clause(_UID, _RID, _SID), candidate_clause(_UID))
    .where(Task.id == _TID, Task.request_id == _RID)
    .execution_options(populate_existing=True))
# The request locked through its task, the task (reloaded), the caller's visibility and
# candidacy, and the audit chain's head: one statement where there were three.
_Other = aliased(Task)
# Whether another task of the request is open: most flows have one open at a time, the one
# being worked, and the advance after it then need not read the open tasks again.
_OTHERS_OPEN = exists().where(
    _Other.request_id == Request.id, _Other.status == TaskStatus.open, _Other.id != Task.id)
# The requests whose only open task, when their row was locked, was the one worked: {id: task}
# (``advancing`` takes it instead of reading the open tasks; once: its advance opens others).
ONLY_OPEN_KEY = transaction_cache("sealflow_only_open_task")
_LOCKED_FOR_WORK = (
    select(Request, Task, involved_clause(_UID, Request.id, Request.seal_id),
           candidate_clause(_UID), audit.HEAD, _OTHERS_OPEN)
    .join(Task, Task.request_id == Request.id)
    .where(Task.id == _TID)
    .with_for_update(of=Request)
    .execution_options(populate_existing=True))
_IS_CANDIDATE = select(candidate_clause(_UID)).where(Task.id == _TID)
_SIBLINGS = select(Task).where(Task.activity == bindparam("act"))
_Sibling = aliased(Task)


def worked_sibling(user_id):
    """True when the user completed, or holds a claim on, another instance of ``Task``'s
    multi-instance activation."""
    return exists().where(_Sibling.activity == Task.activity, _Sibling.id != Task.id, or_(
        _Sibling.completed_by_id == user_id,
        (_Sibling.claimed_by_id == user_id) & (_Sibling.status == TaskStatus.open)))


_WORKED_SIBLING = select(exists().where(
    _Sibling.activity == bindparam("act"), _Sibling.id != bindparam("tid"), or_(
        _Sibling.completed_by_id == _UID,
        (_Sibling.claimed_by_id == _UID) & (_Sibling.status == TaskStatus.open))))
# Someone who may still work an open instance: a candidate (directly or by group), active, not
# excluded as requester or filer, who worked no other instance of the activation.
_TASK_PEOPLE = select(TaskCandidate.user_id).where(
    TaskCandidate.task_id == _TID, TaskCandidate.user_id.is_not(None)).union(
    select(Membership.user_id).join(TaskCandidate, TaskCandidate.group_id == Membership.group_id)
    .where(TaskCandidate.task_id == _TID))
_ANYONE_LEFT = select(exists().where(
    User.id.in_(_TASK_PEOPLE), User.active.is_(True),
    or_(bindparam("filer", type_=Integer).is_(None), User.id != bindparam("filer")),
    or_(bindparam("requester_may", type_=Boolean), User.id != bindparam("req_uid")),
    ~exists().where(_Sibling.activity == bindparam("act"),
                    _Sibling.completed_by_id == User.id)))
_INSERT_CANDIDATES = insert(cast(Table, TaskCandidate.__table__))
# Plain rows: the id, name and whether active is all a task's performers need of a user, with
# the deputy of one away now (out-of-office; none: NULLs), in the same statement.
_USERS_NAMED = out_of_office.with_deputies(select(User.id, User.name, User.active).where(
    User.name.in_(bindparam("names", expanding=True))))


def locked_task_for_work(session: Session, identity: Identity,
                         task_id: str) -> tuple[Request | None, Task | None, bool, bool]:
    """The task and its request in one statement, the request's row locked (``FOR UPDATE``;
    SQLite's lock is the transaction's); whether the caller may see the request, and whether
    they are among the task's candidates. The audit chain's head read with it is remembered
    for the events this transaction appends (``audit.remember_head``)."""
    user_id = identity.user.id
    row = session.execute(_LOCKED_FOR_WORK, {"uid": user_id, "tid": task_id}).first()
    if row is None:
        return None, None, False, False
    req, task, involved, candidate, head, others_open = row
    audit.remember_head(session, head)
    if not others_open:
        session.info.setdefault(ONLY_OPEN_KEY, {})[req.id] = task
    visible = req.requester_id == user_id or bool(involved) or identity.has_role("auditor")
    return req, task, visible, bool(candidate)


