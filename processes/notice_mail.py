"""Mailing notices, the domain's steps (the sending is app/mailer.py, over SMTP): which notices
wait to be mailed, taking one to send (a lease, so that the send after the commit and the
scheduler's sweep never both send it), and recording how it went.

A notice of a user with an e-mail address (``Notice.mail_to``) is sent right after its commit;
``Notice.mail_next_at`` says when the sweep sends it if that did not happen (the process
stopped) or failed: a failed send is tried again :data:`MAIL_TRIES` times in all, waiting
longer each time, then given up (logged, ``mail_error`` kept). The in-app notice is never
touched: it was committed before any of this.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from processes.errors import Message
from processes.models import User, utcnow
from processes.notice_models import Notice

logger = logging.getLogger(__name__)

MAIL_TRIES = 5
"""Sends of one notice before it is given up."""
RETRY_BASE = timedelta(minutes=1)
"""The wait after the first failure; each next one waits twice as long."""
LEASE = timedelta(minutes=2)
"""How long a send holds its notice: the sweep leaves it alone meanwhile."""
MAX_AGE = timedelta(days=1)
"""The sweep mails no notice older than this (mail turned on later does not send the past)."""


@dataclass(frozen=True)
class Outgoing:
    """One notice to mail, with what the mail says (``message``, to be put into ``language``:
    the recipient's, ``zh_CN`` when they have none)."""

    notice_id: int
    to: str
    display_name: str
    kind: str
    message: Message
    link: str | None
    language: str = "zh_CN"


def take(session: Session, notice_ids: list[int], now: datetime | None = None
         ) -> list[Outgoing]:
    """Lease the notices among ``notice_ids`` that still wait to be mailed (one UPDATE each:
    whoever else tries them meanwhile gets nothing), with what their mails say."""
    now = now or utcnow()
    taken = []
    for notice_id in notice_ids:
        result = cast(CursorResult, session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.mailed_at.is_(None),
                                 Notice.mail_next_at.is_not(None), Notice.mail_to.is_not(None))
            .values(mail_next_at=now + LEASE).execution_options(synchronize_session=False)))
        if result.rowcount == 1:
            taken.append(notice_id)
    if not taken:
        return []
    rows = session.execute(select(Notice, User.display_name, User.language)
                           .join(User, User.id == Notice.user_id)
                           .where(Notice.id.in_(taken)).order_by(Notice.id)).tuples().all()
    return [Outgoing(n.id, n.mail_to or "", name, n.kind, n.message, n.link,
                     language or "zh_CN") for n, name, language in rows]


def due(session: Session, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Notices whose mail is due (unsent after its grace, or a failed send's next try), of
    the last :data:`MAX_AGE`."""
    now = now or utcnow()
    return list(session.execute(
        select(Notice.id).where(Notice.mail_next_at <= now, Notice.mailed_at.is_(None),
                                Notice.created_at > now - MAX_AGE)
        .order_by(Notice.mail_next_at).limit(limit)).scalars())


def record_sent(session: Session, notice_id: int) -> None:
    session.execute(update(Notice).where(Notice.id == notice_id).values(
        mailed_at=utcnow(), mail_next_at=None, mail_error=None)
        .execution_options(synchronize_session=False))
    logger.info("notice %d mailed", notice_id)


def record_failure(session: Session, notice_id: int, error: str) -> bool:
    """Count a failed send; True when it will be tried again, False when given up."""
    notice = session.get(Notice, notice_id, populate_existing=True)
    if notice is None:
        return False
    notice.mail_tries += 1
    notice.mail_error = error[:2000]
    again = notice.mail_tries < MAIL_TRIES
    notice.mail_next_at = (utcnow() + RETRY_BASE * 2 ** (notice.mail_tries - 1)) if again \
        else None
    session.flush()
    if again:
        logger.warning("notice %d: mail to %s failed (try %d of %d), tried again at %s: %s",
                       notice_id, notice.mail_to, notice.mail_tries, MAIL_TRIES,
                       notice.mail_next_at, error)
    else:
        logger.error("notice %d: mail to %s given up after %d tries: %s", notice_id,
                     notice.mail_to, notice.mail_tries, error)
    return again
