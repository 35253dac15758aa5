"""The candidate rows of tasks that left the inboxes: marked closed, not deleted (whoever had a
task on a request may still see it), so that an inbox reads only the open tasks of its groups
and not their whole history (inbox_lists, migration 0020)."""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from processes.task_models import TaskCandidate

_CLOSE = update(TaskCandidate).where(
    TaskCandidate.task_id.in_(bindparam("ids", expanding=True))).values(task_open=False)


def close(session: Session, task_ids: list[str]) -> None:
    """The tasks were completed or cancelled: one UPDATE of their candidate rows, now."""
    if task_ids:
        session.connection().execute(_CLOSE, {"ids": task_ids})
