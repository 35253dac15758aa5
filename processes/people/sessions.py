"""Browser sessions kept on the server: a log-in starts one, log-out ends it, a password change
or a deactivation ends every one of the user's. The cookie only names the session."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import cast

from sqlalchemy import CursorResult, bindparam, delete, select
from sqlalchemy.orm import Session

from processes.auth_models import UserSession
from processes.models import User, utcnow

logger = logging.getLogger(__name__)


def _hash(key: str) -> str:
    # Keys are 256-bit random: a fast hash is enough, and the table alone logs nobody in.
    return hashlib.sha256(key.encode()).hexdigest()


def start(session: Session, user: User, *, hours: int, address: str | None = None) -> str:
    """A new session for ``user``; returns its key (for the cookie, never stored in clear).
    Sessions past their end are swept away on the way."""
    now = utcnow()
    session.execute(delete(UserSession).where(UserSession.expires_at <= now))
    key = secrets.token_urlsafe(32)
    session.add(UserSession(user_id=user.id, key_hash=_hash(key), created_at=now,
                            expires_at=now + timedelta(hours=hours),
                            address=(address or "")[:64] or None))
    session.flush()
    return key


def end(session: Session, key: str) -> bool:
    """End the session with this key; False if there was none (already ended, or expired)."""
    return cast(CursorResult, session.execute(delete(UserSession).where(
        UserSession.key_hash == _hash(key)))).rowcount > 0


def end_all(session: Session, user: User) -> int:
    """End every session of ``user`` (password changed, user deactivated); how many ended."""
    ended = cast(CursorResult, session.execute(
        delete(UserSession).where(UserSession.user_id == user.id))).rowcount
    if ended:
        logger.info("ended %d session(s) of user %s", ended, user.name)
    return ended


# The one query a request with a session cookie costs: the session, live, with its active user.
_SESSION_USER = (select(User).join(UserSession, UserSession.user_id == User.id)
                 .where(UserSession.key_hash == bindparam("key_hash"),
                        UserSession.user_id == bindparam("user_id"),
                        UserSession.expires_at > bindparam("now"),
                        User.active.is_(True)))


def session_user(session: Session, user_id: int, key: str) -> User | None:
    """The user of a live session, or None (ended, expired, someone else's, user inactive)."""
    return session.execute(_SESSION_USER, {"key_hash": _hash(key), "user_id": user_id,
                                           "now": utcnow()}).scalar_one_or_none()
