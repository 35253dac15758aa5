"""API tokens after their creation (``people.create_token``): listed, revoked one by one or all
at once, and their last use recorded. A token's secret is shown once, when it is made; after
that neither it nor its hash leaves the database."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from processes import audit, isotime
from processes.errors import NotAllowed, NotFound, msg
from processes.models import ApiToken, User, utcnow

if TYPE_CHECKING:
    from processes.people.directory import Identity

logger = logging.getLogger(__name__)

USE_INTERVAL = timedelta(minutes=1)
"""A token's last use is recorded at most this often."""

_MAX_ID = 2**31 - 1  # beyond any id: answered as unknown, not as a database error


def describe(token: ApiToken) -> dict:
    return {"id": token.id, "name": token.name,
            "scopes": [s for s in token.scopes.split(",") if s],
            "created_at": token.created_at.isoformat(),
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None}


def owner(session: Session, who: Identity, name: str) -> User:
    """The user whose tokens ``who`` asks about: themselves, or anyone for an admin."""
    if name == who.user.name:
        return who.user
    if not who.has_role("admin"):
        raise NotAllowed(msg("only administrators may manage another user's tokens"))
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(msg("no user named '%(name)s'", name=name))
    return user


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens that still work, newest first."""
    return list(session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).scalars())


def get_token(session: Session, user: User, token_id: int) -> ApiToken:
    """One of the user's live tokens; any other id (unknown, revoked, someone else's) is 404."""
    token = session.get(ApiToken, token_id) if 0 < token_id <= _MAX_ID else None
    if token is None or token.user_id != user.id or token.revoked:
        raise NotFound(msg("no token %(token_id)s", token_id=token_id))
    return token


def find(session: Session, token_id: int) -> ApiToken:
    """Any user's live token by id (the command line, an administrator's)."""
    token = session.get(ApiToken, token_id) if 0 < token_id <= _MAX_ID else None
    if token is None or token.revoked:
        raise NotFound(msg("no live token %(token_id)s", token_id=token_id))
    return token


def revoke(session: Session, token: ApiToken, *, actor: User | None) -> None:
    """Revoke one token: it answers 401 from now on. Audited."""
    token.revoked = True
    token.revoked_at = utcnow()
    owner_name = token.user.name
    audit.record(session, "user.token_revoked", actor=actor, user=owner_name,
                 token=token.id, name=token.name)
    logger.info("token %d of user %s revoked", token.id, owner_name)


def revoke_all(session: Session, user: User) -> list[int]:
    """Revoke every live token of ``user``; the ids revoked (the caller audits why)."""
    now = utcnow()
    live = session.execute(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked.is_(False))).scalars().all()
    for token in live:
        token.revoked = True
        token.revoked_at = now
    return [t.id for t in live]


def use_due(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether a use at ``now`` should be recorded (none recorded within USE_INTERVAL, or
    none yet today)."""
    return last_used_at is None or last_used_at <= now - USE_INTERVAL \
        or first_today(last_used_at, now)


def first_today(last_used_at: datetime | None, now: datetime) -> bool:
    """Whether no use is recorded on ``now``'s day (the organisation's, SEALFLOW_TIMEZONE)
    yet: the use at ``now`` is then audited. Known from the token's row, which the caller's
    identification reads anyway: no query of its own, and no write on the day's other uses."""
    return last_used_at is None or last_used_at < isotime.day_start(now)


def record_use(session: Session, token_id: int, at: datetime, *,
               first_today: bool = False) -> bool:
    """Record a use of the token at ``at``, unless one was recorded within USE_INTERVAL (the
    condition is in the UPDATE, so concurrent workers write it once). The day's first use
    (``first_today``, as the caller's identification found it) is audited as
    ``user.token_used``, once a day across workers: the day is in the UPDATE's condition.
    Runs in a short transaction of its own, after the response of the request that used the
    token."""
    if first_today:
        first = session.execute(
            update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked.is_(False),
                                   or_(ApiToken.last_used_at.is_(None),
                                       ApiToken.last_used_at < isotime.day_start(at)))
            .values(last_used_at=at).returning(ApiToken.user_id, ApiToken.name),
            execution_options={"synchronize_session": False}).first()
        if first is not None:
            user = session.get(User, first.user_id)
            audit.record(session, "user.token_used", actor=user,
                         user=user.name if user else None, token=token_id, name=first.name)
            return True
    return cast(CursorResult, session.execute(
        update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked.is_(False),
                               or_(ApiToken.last_used_at.is_(None),
                                   ApiToken.last_used_at <= at - USE_INTERVAL))
        .values(last_used_at=at), execution_options={"synchronize_session": False}
    )).rowcount > 0
