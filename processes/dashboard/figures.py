"""The dashboard's figures, the domain's side (the page is app/web/dashboard.py, the API
app/api/dashboard.py): for managers, auditors and administrators, seal uses per seal and month,
approval lead times per flow and per step (median and 90th percentile), open and overdue tasks
per group, policy refusals per rule, incidents per flow. Each is one query, whatever the
number of requests: the database counts and groups; a lead time's median and 90th percentile
are taken here from its group's durations, which the database hands over in one value
(bench/dashboard.py: the whole dashboard over 200,000 tasks).

The filters (processes/dashboard/filters.py) apply alike: the range to when a thing happened (a
sealing, a task's completion, a refusal, an incident raised), the flow, business type and
seal to the requests, the group to who filed them (its members). Open tasks and open
incidents are as they stand now, whatever the range."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from processes.dashboard.filters import Filters
from processes.errors import NotAllowed, msg
from processes.models import (
    AuditEvent,
    BusinessType,
    Group,
    Membership,
    ProcessDefinition,
    Request,
    RequestStatus,
    Seal,
    TaskStatus,
    User,
    utcnow,
)
from processes.people.directory import Identity
from processes.seals.refusals import REFUSED
from processes.task_models import Task, TaskCandidate

ROLES = ("manager", "auditor")
"""Who may read the dashboard (and administrators)."""
DECIDED = (RequestStatus.authorized, RequestStatus.sealed, RequestStatus.rejected,
           RequestStatus.failed, RequestStatus.completed)
"""A request whose approvals came to an outcome: its lead time is from filing to its last
decision."""
STAGES = ("filing", "authorized", "sealing")
"""Where a policy refusal was decided (processes/seals/refusals.py)."""


def may_read(identity: Identity) -> bool:
    return identity.has_role(*ROLES)


def require_reader(identity: Identity) -> None:
    if not may_read(identity):
        raise NotAllowed(msg("the dashboard is for managers, auditors and administrators"))


def filter_choices(session: Session) -> dict[str, list[tuple[str, str]]]:
    """What the filters may name, as (value, label): flows, business types, seals, groups."""
    return {
        "flows": list(_flow_names(session).items()),
        "business_types": [tuple(r) for r in session.execute(
            select(BusinessType.key, BusinessType.name).order_by(BusinessType.key))],
        "seals": [(str(i), n) for i, n in session.execute(
            select(Seal.id, Seal.name).where(Seal.system.is_(False)).order_by(Seal.id))],
        "groups": [tuple(r) for r in session.execute(
            select(Group.key, Group.name).order_by(Group.key))],
    }


def figures(session: Session, identity: Identity, filters: Filters,
            now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the dashboard, as the API returns it (the page draws the same)."""
    require_reader(identity)
    now = now or utcnow()
    flows = _flow_names(session)
    return {
        "filters": filters.as_args(),
        "seal_uses": seal_uses(session, filters),
        "lead_times": {"flows": _named(flow_lead_times(session, filters), flows),
                       "steps": _named(step_lead_times(session, filters), flows)},
        "tasks": open_tasks(session, filters, now),
        "refusals": refusals(session, filters),
        "incidents": incidents(session, filters, flows),
    }


def _flow_names(session: Session) -> dict[str, str]:
    """Each flow's name, as its latest version has it."""
    return dict(session.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                                .order_by(ProcessDefinition.key, ProcessDefinition.version))
                .tuples().all())


def _named(rows: list[dict[str, Any]], flows: dict[str, str]) -> list[dict[str, Any]]:
    for row in rows:
        row["flow_name"] = flows.get(row["flow"], row["flow"])
    return rows


def _requests_where(filters: Filters) -> list[ColumnElement[bool]]:
    """The filters on requests: flow, business type, seal, the filer's group."""
    where: list[ColumnElement[bool]] = []
    if filters.flow:
        where.append(Request.process_id.in_(
            select(ProcessDefinition.id).where(ProcessDefinition.key == filters.flow)))
    if filters.business_type:
        where.append(Request.business_type == filters.business_type)
    if filters.seal_id:
        where.append(Request.seal_id == filters.seal_id)
    if filters.group:
        where.append(Request.requester_id.in_(_members(filters.group)))
    return where


def _members(group: str) -> Select:
    return select(Membership.user_id).join(Group, Group.id == Membership.group_id) \
        .where(Group.key == group)


def seal_uses(session: Session, filters: Filters) -> dict[str, Any]:
    """Sealed documents per seal and month (the months of the organisation's zone)."""
    bounds = filters.months[1:]
    month = case(*[(Request.sealed_at < bound, index) for index, bound in enumerate(bounds)])
    uses = select(Request.seal_id.label("seal_id"), month.label("month")).where(
        Request.sealed_at >= filters.start, Request.sealed_at < filters.end,
        *_requests_where(filters)).subquery()
    rows = session.execute(
        select(uses.c.seal_id, Seal.name, uses.c.month, func.count())
        .join(Seal, Seal.id == uses.c.seal_id)
        .group_by(uses.c.seal_id, Seal.name, uses.c.month)
        .order_by(uses.c.seal_id, uses.c.month)).all()
    seals: dict[int, dict[str, Any]] = {}
    for seal_id, name, index, count in rows:
        seal = seals.setdefault(seal_id, {"id": seal_id, "name": name,
                                          "uses": [0] * len(bounds), "total": 0})
        seal["uses"][index] += count
        seal["total"] += count
    return {"months": filters.month_labels(), "seals": list(seals.values()),
            "total": sum(s["total"] for s in seals.values())}


def _seconds(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """``later - earlier`` in seconds, a float (one of the expressions the two databases write
    apart)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_part("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _all_of(session: Session, seconds: ColumnElement[Any]) -> ColumnElement[Any]:
    """Every ``seconds`` of a group, in one value: an array on PostgreSQL, a JSON array on
    SQLite (each to 15 significant digits: to the microsecond below 30 years). The database
    only groups them (PostgreSQL by hash, SQLite in one sort); ranking every row with window
    functions in the database took seconds at 200,000 tasks."""
    if session.get_bind().dialect.name == "postgresql":
        return func.array_agg(seconds)
    return func.json_group_array(seconds)


def _nearest_ranks(durations: list[float] | str) -> tuple[int, int, int]:
    """How many of a group's durations (``_all_of``), their median and their 90th percentile
    by the nearest rank: once sorted, the value at rank ceil(p * n), one of the durations
    measured, never an interpolation; rounded to the second."""
    ranked = sorted(json.loads(durations) if isinstance(durations, str) else durations)
    n = len(ranked)
    return n, round(ranked[(n + 1) // 2 - 1]), round(ranked[(n * 9 + 9) // 10 - 1])


def flow_lead_times(session: Session, filters: Filters) -> list[dict[str, Any]]:
    """Per flow: from filing to the last decision, for the requests whose approvals came to an
    outcome within the range."""
    at = func.max(Task.completed_at)
    # Requests joined to their tasks, then grouped: grouped first, the tasks' last decisions
    # were a subquery PostgreSQL guessed at a few hundred rows, and it looked each request up.
    decided = select(Request.process_id, Request.created_at, at.label("at")) \
        .join(Task, Task.request_id == Request.id).where(
        Request.status.in_(DECIDED), Task.status == TaskStatus.completed,
        *_requests_where(filters)).group_by(Request.id, Request.process_id, Request.created_at) \
        .having(at >= filters.start, at < filters.end).subquery()
    rows = session.execute(
        select(ProcessDefinition.key,
               _all_of(session, _seconds(session, decided.c.at, decided.c.created_at)))
        .join(decided, decided.c.process_id == ProcessDefinition.id)
        .group_by(ProcessDefinition.key).order_by(ProcessDefinition.key)).all()
    found = []
    for flow, durations in rows:
        n, median, p90 = _nearest_ranks(durations)
        found.append({"flow": flow, "requests": n, "median_seconds": median,
                      "p90_seconds": p90})
    return found


def step_lead_times(session: Session, filters: Filters) -> list[dict[str, Any]]:
    """Per flow and step (a user task's element): from the task's creation to its completion,
    for the tasks completed within the range."""
    step = (ProcessDefinition.key, Task.element_id)
    rows = session.execute(
        select(*step, func.max(Task.name),
               _all_of(session, _seconds(session, Task.completed_at, Task.created_at)))
        .select_from(Task).join(Request, Request.id == Task.request_id)
        .join(ProcessDefinition, ProcessDefinition.id == Request.process_id).where(
            Task.status == TaskStatus.completed, Task.completed_at >= filters.start,
            Task.completed_at < filters.end, *_requests_where(filters))
        .group_by(*step).order_by(*step)).all()
    found = []
    for flow, element, name, durations in rows:
        n, median, p90 = _nearest_ranks(durations)
        found.append({"flow": flow, "step": element, "name": name, "tasks": n,
                      "median_seconds": median, "p90_seconds": p90})
    return found


def open_tasks(session: Session, filters: Filters, now: datetime) -> dict[str, Any]:
    """Open tasks per group they wait on (a task offered to two groups counts in each; one
    offered to people only, under ``group`` null), and how many of them are overdue."""
    where = _requests_where(filters)
    waiting = select(TaskCandidate.group_id.label("group_id"),
                     func.count(func.distinct(Task.id)).label("open"),
                     func.count(func.distinct(case((Task.due_at < now, Task.id)))).label("late")) \
        .select_from(Task).outerjoin(TaskCandidate, and_(TaskCandidate.task_id == Task.id,
                                                         TaskCandidate.group_id.is_not(None))) \
        .where(Task.status == TaskStatus.open,
               # Every task has its request: read the requests only to filter them.
               *([Task.request_id.in_(select(Request.id).where(*where))] if where else [])) \
        .group_by(TaskCandidate.group_id).subquery()
    rows = session.execute(
        select(Group.key, Group.name, waiting.c.open, waiting.c.late)
        .select_from(waiting).outerjoin(Group, Group.id == waiting.c.group_id)
        .order_by(Group.key.is_(None), Group.key)).all()
    return {"groups": [{"group": key, "name": name, "open": count, "overdue": late}
                       for key, name, count, late in rows]}


def refusals(session: Session, filters: Filters) -> dict[str, Any]:
    """The uses a seal's policy refused within the range, per rule (and where: at filing, at
    the authorized end, at sealing), as recorded in the audit log."""
    details = AuditEvent.details
    where: list[ColumnElement[bool]] = [
        AuditEvent.action == REFUSED, AuditEvent.at >= filters.start,
        AuditEvent.at < filters.end]
    if filters.seal_id:
        where.append(AuditEvent.seal_id == filters.seal_id)
    if filters.flow:
        where.append(details["process"].as_string() == filters.flow)
    if filters.business_type:
        where.append(details["business_type"].as_string() == filters.business_type)
    if filters.group:
        where.append(details["requester"].as_string().in_(
            select(User.name).where(User.id.in_(_members(filters.group)))))
    refused = select(details["rule"].as_string().label("rule"),
                     details["stage"].as_string().label("stage")).where(*where).subquery()
    rows = session.execute(select(refused.c.rule, refused.c.stage, func.count())
                           .group_by(refused.c.rule, refused.c.stage)).all()
    rules: dict[str, dict[str, Any]] = {}
    for rule, stage, count in rows:
        entry = rules.setdefault(rule or "", {"rule": rule or "", "count": 0,
                                              "stages": dict.fromkeys(STAGES, 0)})
        entry["count"] += count
        entry["stages"][stage if stage in STAGES else "filing"] += count
    ordered = sorted(rules.values(), key=lambda r: (-r["count"], r["rule"]))
    return {"rules": ordered, "total": sum(r["count"] for r in ordered)}


def incidents(session: Session, filters: Filters, flows: dict[str, str]) -> dict[str, Any]:
    """Per flow: requests stopped by an incident now (open), and those an incident stopped
    within the range that have since gone on (resolved: retried, withdrawn, or moved on)."""
    raised = select(AuditEvent.request_id).where(
        AuditEvent.action == "request.incident", AuditEvent.at >= filters.start,
        AuditEvent.at < filters.end, AuditEvent.request_id.is_not(None))
    stopped = Request.status == RequestStatus.incident
    rows = session.execute(
        select(ProcessDefinition.key, func.sum(case((stopped, 1), else_=0)),
               func.sum(case((stopped, 0), else_=1)))
        .select_from(Request).join(ProcessDefinition, ProcessDefinition.id == Request.process_id)
        .where(or_(stopped, Request.id.in_(raised)), *_requests_where(filters))
        .group_by(ProcessDefinition.key).order_by(ProcessDefinition.key)).all()
    found = [{"flow": key, "flow_name": flows.get(key, key), "open": int(now_open),
              "resolved": int(resolved)} for key, now_open, resolved in rows]
    return {"flows": found, "open": sum(f["open"] for f in found),
            "resolved": sum(f["resolved"] for f in found)}
