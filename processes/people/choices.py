"""The people a page offers to choose from (a task's delegate, an added approver, people to copy
on a request): active users by login, with their display names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.models import User

MAX_CHOICES = 500
"""A picker lists at most this many people; typing a login works for the others."""

_ACTIVE = (select(User.name, User.display_name).where(User.active.is_(True))
           .order_by(User.name).limit(MAX_CHOICES))


def active_people(session: Session, *, but: int | None = None) -> list[tuple[str, str]]:
    """``(login, display name)`` of the active users (``but``: leave out that user's id), by
    login, at most :data:`MAX_CHOICES`, in one statement."""
    stmt = _ACTIVE if but is None else _ACTIVE.where(User.id != but)
    return [(name, display) for name, display in session.execute(stmt).all()]


def labelled(session: Session, names: list[str]) -> list[str]:
    """``王丽 (alice)`` for each login of ``names`` (a login nobody has stays as it is), in one
    statement."""
    found: dict[str, str] = {}
    if names:
        found = {name: display for name, display in session.execute(
            select(User.name, User.display_name).where(User.name.in_(set(names)))).all()}
    return [label(name, found.get(name)) for name in names]


def label(name: str, display_name: str | None) -> str:
    """A person as the pages name them: ``王丽 (alice)``; the login alone when it is their
    display name too."""
    return f"{display_name} ({name})" if display_name and display_name != name else name
