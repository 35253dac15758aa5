"""Notices, the domain's side (the API is app/api/notices.py): telling users things, written in
the same transaction as what caused them, read on the inbox page and by the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import CursorResult, func, insert, select, update
from sqlalchemy.orm import Session

from processes.errors import NotFound
from processes.models import Membership, TaskCandidate, User, utcnow
from processes.notice_models import Notice


def notify(session: Session, user_ids: Iterable[int], kind: str, message: str,
           link: str | None = None) -> int:
    """One notice per user (each user once); returns how many were written."""
    rows = [{"user_id": uid, "kind": kind, "message": message, "link": link,
             "created_at": utcnow()} for uid in sorted(set(user_ids))]
    if rows:
        session.execute(insert(Notice), rows)
    return len(rows)


def task_people(session: Session, task_id: str) -> list[int]:
    """Who may work a task: its candidate users and the members of its candidate groups."""
    direct = select(TaskCandidate.user_id).where(TaskCandidate.task_id == task_id,
                                                 TaskCandidate.user_id.is_not(None))
    members = select(Membership.user_id).join(
        TaskCandidate, TaskCandidate.group_id == Membership.group_id).where(
        TaskCandidate.task_id == task_id)
    return [uid for uid in session.execute(direct.union(members)).scalars() if uid is not None]


def mine(session: Session, user: User, *, unread_only: bool = False, limit: int = 50,
         offset: int = 0) -> list[Notice]:
    query = select(Notice).where(Notice.user_id == user.id)
    if unread_only:
        query = query.where(Notice.read_at.is_(None))
    return list(session.execute(query.order_by(Notice.id.desc()).limit(limit).offset(offset))
                .scalars())


def unread_count(session: Session, user: User) -> int:
    return session.execute(select(func.count()).select_from(Notice).where(
        Notice.user_id == user.id, Notice.read_at.is_(None))).scalar_one()


def mark_read(session: Session, user: User, notice_id: int | None = None) -> int:
    """Mark one notice (or, with no id, all) of ``user`` read; returns how many changed.

    :raises NotFound: no such notice of this user.
    """
    query = update(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
    if notice_id is not None:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.user_id != user.id:
            raise NotFound(f"no notice {notice_id}")
        query = query.where(Notice.id == notice_id)
    return cast(CursorResult, session.execute(query.values(read_at=utcnow()))).rowcount


def describe(notice: Notice) -> dict:
    return {"id": notice.id, "kind": notice.kind, "message": notice.message,
            "link": notice.link, "created_at": notice.created_at.isoformat(),
            "read": notice.read_at is not None}
