"""The inbox's lists (issue 12): its tabs and their counts, filters, search, sort and pages, and
the task that comes next after a decision. Who may work a task is inbox.py's rule; this module
selects and orders what that rule lets a user see, in one statement per need."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import (
    Session,
    contains_eager,
    defer,
    joinedload,
    lazyload,
    selectinload,
)

from processes.errors import BadInput, msg
from processes.isotime import timezone_name
from processes.models import Membership, Request, RequestStatus, TaskStatus, User, utcnow
from processes.requests import inbox
from processes.task_action_models import TaskAction
from processes.task_models import Task, TaskCandidate

TABS = ("all", "mine", "groups", "claimed", "done", "cc")
"""``all``: every open task the user may work now (the list's old meaning); ``mine``: assigned
to the user by name, unclaimed; ``groups``: offered to the user's groups or to the user among
other candidates, unclaimed; ``claimed``: claimed by the user; ``done`` (已办): tasks the user
completed; ``cc`` (抄送我的): the tasks the user was copied on (抄送), open or not."""
COUNTED = ("mine", "groups", "claimed", "done", "cc")
DUES = ("overdue", "today", "week")
SORTS = ("created", "due", "completed")
Q_MAX = 100


@dataclass(frozen=True)
class InboxQuery:
    """One view of the inbox: a tab, its filters and search, its order and page."""

    tab: str = "all"
    business_type: str | None = None
    seal_id: int | None = None
    requester: str | None = None
    """A user name (``alice``)."""
    due: str | None = None
    """``overdue`` (due before now), ``today`` (due before the end of today in
    SEALFLOW_TIMEZONE, overdue ones included), ``week`` (before the end of the 7th day)."""
    q: str | None = None
    """Search: the request's number (``123`` or ``#123``), its document's file name, the task's
    name, the requester's name or display name (case-insensitive, a part is enough)."""
    sort: str | None = None
    """``created``, ``due`` (no due date last) or ``completed``, ``-`` before it for newest or
    latest first; the tab's default when None (``-completed`` for ``done``, else ``created``)."""
    limit: int = 50
    offset: int = 0

    def __post_init__(self) -> None:
        if self.tab not in TABS:
            raise BadInput(msg("tab must be one of %(tabs)s, not '%(tab)s'", tabs=', '.join(TABS),
                               tab=self.tab))
        if self.due is not None and self.due not in DUES:
            raise BadInput(msg("due must be one of %(dues)s, not '%(due)s'", dues=', '.join(DUES),
                               due=self.due))
        if self.sort is not None and self.sort.lstrip("-") not in SORTS:
            raise BadInput(msg("sort must be one of %(sorts)s (a leading - reverses it), not "
                               "'%(sort)s'", sorts=', '.join(SORTS), sort=self.sort))
        if self.q is not None and len(self.q) > Q_MAX:
            raise BadInput(msg("q must be at most %(q_max)s characters long", q_max=Q_MAX))

    @property
    def order(self) -> str:
        return self.sort or ("-completed" if self.tab == "done" else "created")


@dataclass(frozen=True)
class Page:
    """A page of a tab: its tasks, how many the tab holds under the filters (``total``), and
    every tab's count (unfiltered), when asked for."""

    tasks: list[Task]
    total: int
    counts: dict[str, int] | None


def _offered(user_id: Any) -> CompoundSelect:
    """The open tasks (ids) that name the user as a candidate, directly or through a group: read
    from the candidates' indexes, so an inbox costs what it holds, not its groups' history."""
    # Two branches, each on its index: PostgreSQL reads "user_id = ? OR group_id IN (...)"
    # by scanning every candidate row.
    mine = select(TaskCandidate.task_id).where(
        TaskCandidate.user_id == user_id, TaskCandidate.task_open == true())
    groups = select(TaskCandidate.task_id).join(
        Membership, Membership.group_id == TaskCandidate.group_id).where(
        Membership.user_id == user_id, TaskCandidate.task_open == true())
    return union_all(mine, groups)


# The user, as bound parameters: the statements of an unfiltered tab are built once (building
# and keying a statement costs more than running it on SQLite).
_UID: BindParameter[int] = bindparam("uid")
_UNAME: BindParameter[str] = bindparam("uname")


def _workable(uid: Any) -> list[ColumnElement[bool]]:
    """Open tasks of running requests the user may work (inbox.check_may_work's rules), claimed
    by nobody else."""
    return [Task.status == TaskStatus.open, Request.status == RequestStatus.running,
            Task.id.in_(_offered(uid)),
            or_(Task.requester_may_work.is_(True), Request.requester_id != uid),
            or_(Request.created_by_id == Request.requester_id, Request.created_by_id != uid),
            or_(Task.activity.is_(None), ~inbox.worked_sibling(uid)),
            or_(Task.claimed_by_id.is_(None), Task.claimed_by_id == uid),
            ~inbox.waits_for_added()]  # 加签: it waits for the added approver


def _tab(tab: str) -> list[ColumnElement[bool]]:
    """The tab's conditions, on the bound ``uid`` and ``uname``."""
    if tab == "cc":  # the tasks the user was copied on (抄送), read-only, open or not
        return [Task.id.in_(select(TaskAction.task_id).where(
            TaskAction.kind == "cc", TaskAction.user_id == _UID))]
    if tab == "done":
        return [Task.completed_by_id == _UID, Task.status == TaskStatus.completed]
    where = _workable(_UID)
    if tab == "mine":
        where += [Task.assignee == _UNAME, Task.claimed_by_id.is_(None)]
    elif tab == "groups":
        where += [or_(Task.assignee.is_(None), Task.assignee != _UNAME),
                  Task.claimed_by_id.is_(None)]
    elif tab == "claimed":
        where.append(Task.claimed_by_id == _UID)
    return where


def _user(user: User) -> dict[str, Any]:
    return {"uid": user.id, "uname": user.name}


def _day_end(now: datetime, days: int) -> datetime:
    zone = ZoneInfo(timezone_name())
    local = now.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(local, time.min, zone)


def _filters(query: InboxQuery, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.business_type:
        where.append(Request.business_type == query.business_type)
    if query.seal_id is not None:
        where.append(Request.seal_id == query.seal_id)
    if query.requester:
        where.append(Request.requester_id.in_(
            select(User.id).where(User.name == query.requester)))
    if query.due:
        until = {"overdue": now, "today": _day_end(now, 1), "week": _day_end(now, 7)}
        where.append(Task.due_at < until[query.due])
    text = (query.q or "").strip()
    if text:
        number = text.removeprefix("#")
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        requesters = select(User.id).where(or_(
            func.lower(User.name).like(pattern, escape="\\"),
            func.lower(User.display_name).like(pattern, escape="\\")))
        where.append(or_(
            Request.id == int(number) if number.isascii() and number.isdigit()
            and len(number) < 10 else false(),
            func.lower(Request.filename).like(pattern, escape="\\"),
            func.lower(Task.name).like(pattern, escape="\\"),
            Request.requester_id.in_(requesters)))
    return where


# Never null, so a task's place in the order is a plain comparison (the next task's query).
_FAR = datetime(9999, 1, 1, tzinfo=UTC)


def _keys(order: str) -> tuple[list[Any], bool]:
    """The order's key columns (ending with the id, for a total order) and whether reversed."""
    name = order.lstrip("-")
    first: Any = {"created": Task.created_at,
                  "due": func.coalesce(Task.due_at, _FAR),
                  "completed": func.coalesce(Task.completed_at, Task.created_at)}[name]
    return [first, Task.id], order.startswith("-")


def _ordered(stmt: Select, order: str) -> Select:
    keys, reverse = _keys(order)
    return stmt.order_by(*(k.desc() if reverse else k for k in keys))


def _base(tab: str) -> Select:
    return select(Task).join(Request, Request.id == Task.request_id).where(*_tab(tab))


def _loaded(stmt: Select) -> Select:
    """The rows with what a task's description reads (the requester and the claimant joined,
    the flow definitions in one more statement), and the request's data (the inbox page titles
    a row by its purpose and amount), not the instance's state."""
    return stmt.options(
        contains_eager(Task.request).options(
            defer(Request.state), lazyload(Request.document),
            selectinload(Request.process)),
        joinedload(Task.claimed_by))


_LIMIT: BindParameter[int] = bindparam("limit", type_=Integer)
_OFFSET: BindParameter[int] = bindparam("offset", type_=Integer)


@functools.cache
def _unfiltered_page(tab: str, order: str) -> Select:
    return _loaded(_ordered(_base(tab), order)).limit(_LIMIT).offset(_OFFSET)


@functools.cache
def _unfiltered_total(tab: str) -> Select:
    return select(func.count()).select_from(_base(tab).with_only_columns(Task.id).subquery())


def tasks_page(session: Session, user: User, query: InboxQuery, *, counts: bool = False,
               now: datetime | None = None) -> Page:
    """A page of a tab (one statement, and one for the flow definitions of its rows), its
    total (one more, unless the page or the counts tell it), and every tab's count when
    ``counts`` (one)."""
    filters = _filters(query, now or utcnow())
    params = _user(user) | {"limit": query.limit, "offset": query.offset}
    if filters:
        base = _base(query.tab).where(*filters)
        page = _loaded(_ordered(base, query.order)).limit(_LIMIT).offset(_OFFSET)
        total_stmt = select(func.count()).select_from(base.with_only_columns(Task.id).subquery())
    else:
        page, total_stmt = _unfiltered_page(query.tab, query.order), _unfiltered_total(query.tab)
    rows = list(session.execute(page, params).unique().scalars())
    found = tab_counts(session, user) if counts else None
    if query.offset == 0 and len(rows) < query.limit:
        total = len(rows)  # the whole tab is on this page
    elif found is not None and not filters:
        total = found[query.tab]
    else:
        total = session.execute(total_stmt, params).scalar_one()
    return Page(rows, total, found)


def _count(tab: str) -> Any:
    return (select(func.count(Task.id)).join(Request, Request.id == Task.request_id)
            .where(*_tab(tab)).scalar_subquery())


_COUNTS = select(*(_count(t).label(t) for t in COUNTED))


def tab_counts(session: Session, user: User) -> dict[str, int]:
    """How many tasks each tab holds, unfiltered, in one statement."""
    row = session.execute(_COUNTS, _user(user)).one()
    found = dict(zip(COUNTED, row, strict=True))
    found["all"] = found["mine"] + found["groups"] + found["claimed"]
    return found


def next_task(session: Session, user: User, query: InboxQuery, after: str | None,
              *, now: datetime | None = None) -> Task | None:
    """The task that follows ``after`` in the tab's order (``after`` itself may have left the
    tab, as a task does once decided); the tab's first task when nothing follows it, or when
    ``after`` is None or unknown. None when the tab is empty."""
    base = _base(query.tab).where(*_filters(query, now or utcnow()))
    keys, reverse = _keys(query.order)
    params = _user(user)
    if after is not None:
        place = session.execute(select(*keys).where(Task.id == after)).first()
        if place is not None:
            position = tuple_(*keys)
            later = position < tuple_(*place) if reverse else position > tuple_(*place)
            found = session.execute(_loaded(_ordered(base.where(later), query.order)).limit(1),
                                    params).unique().scalars().first()
            if found is not None:
                return found
    first = base.where(Task.id != after) if after is not None else base
    return session.execute(_loaded(_ordered(first, query.order)).limit(1),
                           params).unique().scalars().first()


def describe_row(task: Task, now: datetime | None = None) -> dict[str, Any]:
    """What an inbox row shows of a task beyond the task itself: its request, whether it is
    overdue, and for a done task when and how it was decided."""
    now = now or utcnow()
    req = task.request
    return {
        "overdue": task.status == TaskStatus.open and task.due_at is not None
        and task.due_at < now,
        "request": {"id": req.id, "business_type": req.business_type, "seal_id": req.seal_id,
                    "process": req.process.name, "filename": req.filename,
                    "status": req.status.value, "requester": req.requester.name,
                    "requester_display_name": req.requester.display_name},
        "status": task.status.value,
        "decision": task.decision,
        "completed_at": task.completed_at.isoformat() if task.completed_at else None,
    }


def workable(session: Session, user: User, ids: list[str]) -> dict[str, Task]:
    """Those of the tasks ``ids`` the user may work now (the ``all`` tab's), by id, loaded as
    a page's rows (one statement, and one for their flows): what a bulk approval's results
    name each task by."""
    if not ids:
        return {}
    stmt = _loaded(_base("all").where(Task.id.in_(ids)))
    return {t.id: t for t in session.execute(stmt, _user(user)).unique().scalars()}
