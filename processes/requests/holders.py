"""Where requests stand: each one's current step(s) and who holds them, for a list of
requests at once (my requests' page): two statements, whatever the list's length."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from processes.models import Group, TaskStatus, User
from processes.task_models import Task, TaskCandidate


@dataclass
class Step:
    """One open task of a request: its name and who holds it (``claimed_by`` when claimed;
    otherwise its candidate ``people`` and ``groups``), as display names."""

    task_id: str
    name: str
    claimed_by: str | None = None
    people: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


_CLAIMANT = aliased(User)


def current_steps(session: Session, request_ids: Iterable[int]) -> dict[int, list[Step]]:
    """The open tasks of each of ``request_ids``, oldest first, with their holders; a
    request without any is absent."""
    ids = sorted(set(request_ids))
    if not ids:
        return {}
    steps: dict[str, Step] = {}
    found: dict[int, list[Step]] = {}
    tasks = (select(Task.id, Task.request_id, Task.name, _CLAIMANT.display_name)
             .join(_CLAIMANT, _CLAIMANT.id == Task.claimed_by_id, isouter=True)
             .where(Task.request_id.in_(ids), Task.status == TaskStatus.open)
             .order_by(Task.created_at, Task.id))
    for task_id, request_id, name, claimant in session.execute(tasks).all():
        step = steps[task_id] = Step(task_id, name, claimed_by=claimant)
        found.setdefault(request_id, []).append(step)
    if not steps:
        return found
    candidates = (select(TaskCandidate.task_id, User.display_name, Group.name)
                  .join(Task, Task.id == TaskCandidate.task_id)
                  .join(User, User.id == TaskCandidate.user_id, isouter=True)
                  .join(Group, Group.id == TaskCandidate.group_id, isouter=True)
                  .where(Task.request_id.in_(ids), Task.status == TaskStatus.open,
                         TaskCandidate.task_open.is_(True))
                  .order_by(TaskCandidate.id))
    for task_id, person, group in session.execute(candidates).all():
        held = steps.get(task_id)
        if held is None or held.claimed_by:
            continue
        if person:
            held.people.append(person)
        if group:
            held.groups.append(group)
    return found
