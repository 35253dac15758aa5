"""Notices, the domain's side (the API is app/api/notices.py): telling users things, written in
the same transaction as what caused them, read on the inbox page and by the API. Each notice
of a user with an e-mail address is also mailed, after the commit
(processes/notice_mail.py: the steps; app/mailer.py: SMTP).

What a notice says is a message (``msg(...)``, as the domain's errors): stored as its key and
values, put into words in the reader's language when read (``Notice.message``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import cast

from sqlalchemy import (
    JSON,
    CursorResult,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    case,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session

from processes import signals
from processes.db import on_commit
from processes.errors import Message, NotFound, msg, stored_args
from processes.models import Membership, User, UTCDateTime, utcnow
from processes.notice_models import Notice
from processes.task_models import TaskCandidate

MAIL_GRACE = timedelta(minutes=5)
"""A notice to mail is sent right after its commit; if it is not sent by this time after (the
process stopped first), the scheduler's sweep sends it (``notice_mail.due``)."""

# One statement: a notice per user, with their e-mail address if they have one (the mail waits
# for the commit; MAIL_GRACE after it, the sweep sends it if nothing did).
_NOTICES = cast(Table, Notice.__table__)
_NOTIFY = insert(_NOTICES).from_select(
    ["user_id", "kind", "key", "args", "link", "created_at", "mail_to", "mail_tries",
     "mail_next_at"],
    select(User.id, bindparam("kind", type_=String), bindparam("key", type_=Text),
           bindparam("args", type_=JSON(none_as_null=True)),
           bindparam("link", type_=String), bindparam("now", type_=UTCDateTime), User.email,
           literal(0, Integer), case((User.email.is_not(None),
                                      bindparam("next", type_=UTCDateTime)), else_=null()))
    .where(User.id.in_(bindparam("ids", expanding=True))).order_by(User.id),
).returning(_NOTICES.c.id, _NOTICES.c.mail_to)


def notify(session: Session, user_ids: Iterable[int], kind: str, message: Message | str,
           link: str | None = None) -> int:
    """One notice per user (each user once); returns how many were written. ``message``:
    ``msg("Request #%(id)s ...", id=...)``, kept as its key and values and put into words in
    each reader's language (a plain string is kept as it is, in every language). Those of users
    with an e-mail address are mailed after the commit (``signals.notices_to_mail``)."""
    ids = sorted(set(user_ids))
    if not ids:
        return 0
    now = utcnow()
    # On the connection: a plain INSERT, which flushes nothing pending (the audit events are
    # written together later; the users named have ids, so are flushed already).
    key = message.key if isinstance(message, Message) else str(message)
    written = session.connection().execute(_NOTIFY, {
        "ids": ids, "kind": kind, "key": key, "args": stored_args(message), "link": link,
        "now": now, "next": now + MAIL_GRACE}).tuples().all()
    to_mail = [nid for nid, mail_to in written if mail_to]
    if to_mail:
        on_commit(session, lambda: signals.notices_to_mail.send(None, notice_ids=to_mail))
    return len(written)


def task_assigned(session: Session, user_ids: Iterable[int], request_id: int, task_id: str,
                  task_name: str) -> int:
    """Tell the people who may work a new task (each with its link)."""
    return notify(session, user_ids, "task.assigned",
                  msg("Request #%(id)s waits for you at “%(task)s”.", id=request_id,
                      task=task_name), link=f"/tasks/{task_id}")


def request_finished(session: Session, requester_id: int, request_id: int, status: str,
                     reason: str | None = None) -> int:
    """Tell the requester their request is sealed, rejected or failed (with the reason, which
    may be a message itself)."""
    finished = {
        "sealed": msg("Request #%(id)s is sealed.", id=request_id),
        "rejected": msg("Request #%(id)s was rejected.", id=request_id),
        "failed": msg("Request #%(id)s failed: %(reason)s", id=request_id,
                      reason=reason or ""),
    }
    return notify(session, [requester_id], f"request.{status}", finished[status],
                  link=f"/requests/{request_id}")


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
            raise NotFound(msg("no notice %(notice_id)s", notice_id=notice_id))
        query = query.where(Notice.id == notice_id)
    return cast(CursorResult, session.execute(query.values(read_at=utcnow()))).rowcount


def describe(notice: Notice) -> dict:
    """A notice for the API: its ``key`` and ``args`` (the app adds ``text``, in the caller's
    language; ``message`` is the English text)."""
    return {"id": notice.id, "kind": notice.kind, "key": notice.key, "args": notice.args,
            "message": str(notice.message), "link": notice.link,
            "created_at": notice.created_at.isoformat(), "read": notice.read_at is not None}
