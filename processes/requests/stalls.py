"""Requests that wait on nothing: the sweep for instances older versions left stranded.

Every advance checks its instance (``advancing.advance``: one that has not ended and waits on
no task, timer or message becomes an incident). An instance an older Sealflow left waiting at
a step it could not offer anyone (a manual task in a lane, say) was never checked: the
scheduler's sweep finds it here. Cheap by construction: one query picks the running requests
with no open task and no timer (the only ones that can be stranded); only those are loaded.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from processes.db import lock_request
from processes.errors import msg
from processes.flows import engine
from processes.flows.engine import EngineIncident, StateUnreadable
from processes.models import Request, RequestStatus, TaskStatus
from processes.requests.advancing import mark_incident
from processes.task_models import Task

logger = logging.getLogger(__name__)

_WAITING_ON_NO_ONE = (
    select(Request.id, Request.updated_at)
    .where(Request.status == RequestStatus.running, Request.timer_due_at.is_(None),
           Request.state != "",
           ~exists().where(Task.request_id == Request.id, Task.status == TaskStatus.open))
    .order_by(Request.id))


def candidates(session: Session, *, after: int = 0,
               limit: int = 200) -> list[tuple[int, datetime]]:
    """(id, updated_at) of running requests past ``after`` with no open task and no timer:
    stranded, or waiting for a message (loading the instance tells which)."""
    stmt = _WAITING_ON_NO_ONE.where(Request.id > after).limit(limit)
    return [(rid, at) for rid, at in session.execute(stmt).all()]


def stalled(session: Session, req: Request) -> EngineIncident | None:
    """The incident of ``req`` if it is running and its instance waits on nothing
    (:func:`processes.flows.engine.stalled_at`), has ended without the request ending, or
    cannot be read; None otherwise. Reads only."""
    if req.status != RequestStatus.running or req.timer_due_at is not None or not req.state:
        return None
    open_ids = set(session.execute(select(Task.id).where(
        Task.request_id == req.id, Task.status == TaskStatus.open)).scalars())
    try:
        wf = engine.load(req.process, req.state)
    except StateUnreadable as exc:
        return exc
    if wf.is_completed():  # a retry ends it (advancing.advance)
        return EngineIncident(engine.reached_end(wf, req.process.authorized_end),
                              msg("the instance ended but the request did not: retry it to "
                                  "end it"))
    return engine.stalled_at(wf, open_ids)


def is_stalled(session: Session, request_id: int) -> bool:
    """:func:`stalled`, without a lock (the sweep's first look)."""
    req = session.get(Request, request_id)
    return req is not None and stalled(session, req) is not None


def mark_if_stalled(session: Session, request_id: int) -> bool:
    """Under the request's row lock: make it an incident if it is :func:`stalled`. True when
    it did."""
    req = lock_request(session, request_id)
    found = stalled(session, req) if req is not None else None
    if req is None or found is None:
        return False
    mark_incident(session, req, found)
    logger.warning("request %d found waiting on nothing (left so by an older version)", req.id)
    return True
