"""Timers that survive restarts: each instance's earliest due time lives on its request row;
the scheduler fires due instances (a missed timer fires once, late, not once per period)."""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from processes import audit, notices, signals
from processes.db import lock_request, on_commit
from processes.errors import msg
from processes.flows import engine
from processes.flows.engine import EngineIncident, StateUnreadable
from processes.flows.timer_events import firing_budget
from processes.models import Request, RequestStatus, TaskStatus, utcnow
from processes.requests.advancing import advance, mark_incident
from processes.task_models import Task

logger = logging.getLogger(__name__)

_DUE = (select(Request.id, Request.timer_due_at)
        .where(Request.status == RequestStatus.running, Request.timer_due_at.is_not(None),
               Request.timer_due_at <= bindparam("until"))
        .order_by(Request.timer_due_at))


def due_requests(session: Session, until: datetime | None = None,
                 limit: int = 100) -> list[tuple[int, datetime]]:
    """Running requests with a timer due by ``until`` (default: now), earliest first."""
    rows = session.execute(_DUE.limit(limit), {"until": until or utcnow()}).all()
    return [(rid, due) for rid, due in rows]


def fire(session: Session, request_id: int, now: datetime | None = None) -> bool:
    """Fire the due timers of one request and advance it (under its row lock)."""
    now = now or utcnow()
    req = lock_request(session, request_id)
    if (req is None or req.status != RequestStatus.running or req.timer_due_at is None
            or req.timer_due_at > now):
        return False
    try:
        wf = engine.load(req.process, req.state)
    except StateUnreadable as exc:
        mark_incident(session, req, exc)
        req.timer_due_at = None
        return True
    with firing_budget() as budget:
        try:
            engine.refresh_timers(wf)
        except EngineIncident as exc:
            mark_incident(session, req, exc)
            engine.save(req, wf)
            req.timer_due_at = None
            return True
    # What fired (a cycle missed for years fires once), not what was due: past the budget of
    # one advance a timer waits for the next.
    fired = sorted({t.task_spec.bpmn_id for t in budget.fired})
    reminders = sorted({t.task_spec.bpmn_id for t in budget.fired
                        if (getattr(t.task_spec, "extensions", None) or {})
                        .get("properties", {}).get("action") == "remind"})
    audit.record(session, "timer.fired", request_id=req.id, timers=fired)
    if reminders:
        _remind(session, req, reminders)
    advance(session, req, wf, actor=None)
    logger.info("timers %s of request %d fired", ",".join(fired) or "-", req.id)
    return True


def _remind(session: Session, req: Request, elements: list[str]) -> None:
    """A timer marked ``action=remind`` fired: remind the people of the open tasks again."""
    open_tasks = session.execute(select(Task.id, Task.name).where(
        Task.request_id == req.id, Task.status == TaskStatus.open)).all()
    for task_id, name in open_tasks:
        audit.record(session, "task.reminded", request_id=req.id, task=task_id,
                     timers=elements)
        notices.notify(session, notices.task_people(session, task_id), "task.reminder",
                       msg("Request #%(id)s still waits for you at “%(task)s”.", id=req.id,
                           task=name), link=f"/tasks/{task_id}")
        on_commit(session, functools.partial(signals.task_reminder.send, None,
                                             task_id=task_id, request_id=req.id))
