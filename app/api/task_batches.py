"""Bulk approval (``POST /api/v1/tasks/bulk-complete``), the web layer's side: each task is
completed in a unit of work of its own, so one that fails undoes none of the others, and each
gets its own result, in the order asked."""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import gettext as _

from app.errors import message_of, problems_of, status_of
from app.extensions import db
from processes.db import retrying_deadlocks, unit_of_work
from processes.errors import BadInput, SealflowError, msg
from processes.people.directory import Identity
from processes.requests import tasks

logger = logging.getLogger(__name__)

MAX_TASKS = 100
"""The most tasks one bulk approval takes."""


def parse(body: dict[str, Any]) -> tuple[list[str], str | None]:
    """The task ids (distinct, in order) and the comment; BadInput for anything else."""
    ids = body.get("tasks")
    if not isinstance(ids, list) or not ids or \
            not all(isinstance(i, str) and 0 < len(i) <= 36 for i in ids):
        raise BadInput(msg("tasks must be a non-empty list of task ids"))
    if len(ids) > MAX_TASKS:
        raise BadInput(msg("at most %(max_tasks)s tasks can be approved at once, not %(size)s",
                           max_tasks=MAX_TASKS, size=len(ids)))
    if body.get("decision", "approve") != "approve":
        raise BadInput(msg('bulk completion only approves: decision must be "approve" (reject or '
                           "return a task one at a time, with its reason)"))
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise BadInput(msg("comment must be a string"))
    return list(dict.fromkeys(ids)), comment


def approve_one(who: Identity, task_id: str, comment: str | None) -> dict[str, Any]:
    """Approve one task in a unit of work of its own: ``{id, ok, request_id, request_status}``
    or ``{id, ok: false, error: {code, message, problems, status}}``, the messages in the
    caller's language (the API's answer and the inbox page's results alike)."""
    def run() -> dict[str, Any]:
        with unit_of_work(db.session):
            req = tasks.complete(db.session, who, task_id, decision="approve", comment=comment)
            return {"id": task_id, "ok": True, "request_id": req.id,
                    "request_status": req.status.value}
    try:
        return retrying_deadlocks(run)
    except SealflowError as exc:
        return {"id": task_id, "ok": False, "error": {
            "code": exc.code, "message": message_of(exc), "problems": problems_of(exc),
            "status": status_of(exc)}}
    except Exception:  # one item's failure must not hide the results of those committed
        logger.exception("bulk approval of task %s failed", task_id)
        return {"id": task_id, "ok": False, "error": {
            "code": "internal",
            "message": _("an unexpected error occurred; it has been logged"),
            "problems": [], "status": 500}}
