"""Log-in by name and password, throttled per name and per client address, and the password
change that needs the current password (throttled the same way).

Failures are counted in the database (``LoginThrottle``), so every worker process sees the same
count. A name is counted whether or not such a user exists: the lock-out then tells an attacker
nothing a wrong password does not. The name's count is taken *before* the password is checked,
holding its row, so parallel guesses cannot slip past the limit; the address's is taken after a
failure (an office behind one address must not queue on one row at nine in the morning).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from processes import audit
from processes.auth_models import LoginThrottle
from processes.errors import BadInput, msg
from processes.models import User, utcnow
from processes.people import directory, sessions

logger = logging.getLogger(__name__)

NAME, ADDRESS = "name", "address"


@dataclass(frozen=True)
class LoginLimits:
    """How log-ins are throttled and how long a session lasts (config: SEALFLOW_LOGIN_*,
    SEALFLOW_SESSION_HOURS)."""

    failures: int = 5
    """Failed log-ins for one name within ``minutes`` that lock the name for ``minutes``."""
    address_failures: int = 20
    """Failed log-ins from one address within ``minutes`` that block it for ``minutes``
    (0: no limit per address)."""
    minutes: int = 15
    session_hours: int = 12
    """A session ends this long after log-in, whatever the browser keeps."""


@dataclass(frozen=True)
class LoginResult:
    """A log-in: the user and the new session's key; or refused, with ``retry_after`` seconds
    when the name or the address is locked (0: just a wrong name or password)."""

    user: User | None = None
    key: str | None = None
    retry_after: int = 0


def throttle(session: Session, scope: str, key: str, now: datetime,
             limits: LoginLimits) -> LoginThrottle:
    """The counter of ``scope``/``key``, created if missing, its row locked until the commit
    (PostgreSQL ``FOR UPDATE``; SQLite writers hold the database lock); a spent window
    starts again."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    session.execute(insert(LoginThrottle).values(scope=scope, key=key, failures=0,
                                                 window_start=now)
                    .on_conflict_do_nothing(index_elements=["scope", "key"]))
    row = session.execute(
        select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
        .with_for_update().execution_options(populate_existing=True)).scalar_one()
    if row.window_start <= now - timedelta(minutes=limits.minutes) and not _locked(row, now):
        row.failures, row.window_start, row.locked_until = 0, now, None
    return row


def _locked(row: LoginThrottle | None, now: datetime) -> bool:
    return row is not None and row.locked_until is not None and row.locked_until > now


def wait_for(rows: list[LoginThrottle | None], now: datetime) -> int:
    until = [r.locked_until for r in rows if r is not None and r.locked_until is not None]
    return max([math.ceil((u - now).total_seconds()) for u in until if u > now], default=0)


def _check(session: Session, name: str, password: str, address: str, limits: LoginLimits,
           *, during: str | None = None) -> LoginResult:
    """Check a name and password under the throttles; counts and audits a failure."""
    now = utcnow()
    name_key, address_key = name[:255], (address or "unknown")[:255]
    counter = throttle(session, NAME, name_key, now, limits)
    at_address = session.execute(select(LoginThrottle).where(
        LoginThrottle.scope == ADDRESS, LoginThrottle.key == address_key)).scalar_one_or_none()
    wait = wait_for([counter, at_address], now)
    if wait:
        return LoginResult(retry_after=wait)
    counter.failures += 1
    session.flush()
    user = directory.check_password(session, name, password)
    if user is not None:
        session.delete(counter)
        session.flush()
        return LoginResult(user=user)

    # The audit log keeps forever what it is given: a name typed that is no user's is often
    # a password typed in the wrong box, so only a real user's name is written.
    shown = name_key if session.execute(
        select(User.id).where(User.name == name_key)).first() else None
    extra: dict[str, Any] = {"during": during} if during else {}
    audit.record(session, "user.login_failed", name=shown, address=address_key,
                 failures=counter.failures, **extra)
    until = now + timedelta(minutes=limits.minutes)
    if counter.failures >= limits.failures:
        counter.locked_until = until
        audit.record(session, "user.locked", name=shown, address=address_key,
                     until=until.isoformat(), failures=counter.failures)
        logger.warning("log-in locked for %s after %d failures",
                       repr(shown) if shown else "a name that is no user's", counter.failures)
    at_address = throttle(session, ADDRESS, address_key, now, limits)
    at_address.failures += 1
    if limits.address_failures and at_address.failures >= limits.address_failures \
            and not _locked(at_address, now):
        at_address.locked_until = until
        audit.record(session, "login.address_blocked", address=address_key,
                     until=until.isoformat(), failures=at_address.failures)
        logger.warning("log-in blocked from address %s after %d failures", address_key,
                       at_address.failures)
    # Counters whose window and lock are both over say nothing any more.
    cutoff = now - timedelta(minutes=limits.minutes)
    session.execute(delete(LoginThrottle).where(
        LoginThrottle.window_start < cutoff,
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)))
    session.flush()
    return LoginResult(retry_after=wait_for([counter, at_address], now))


def log_in(session: Session, name: str, password: str, *, address: str,
           limits: LoginLimits, replaces: str | None = None,
           language: str | None = None) -> LoginResult:
    """Log in: on success a new session (its key in the result; the browser's previous one,
    ``replaces``, ends) and an audit event, and the user's ``language`` (the page's, which
    their mail is then written in) kept; on failure the failure is counted (commit the result
    either way)."""
    result = _check(session, name, password, address, limits)
    if result.user is None:
        return result
    if language and result.user.language != language:
        result.user.language = language
    if replaces:
        sessions.end(session, replaces)
    key = sessions.start(session, result.user, hours=limits.session_hours, address=address)
    audit.record(session, "user.login", actor=result.user, address=address)
    logger.info("user %s logged in", result.user.name)
    return LoginResult(user=result.user, key=key)


def log_out(session: Session, user: User | None, key: str | None) -> None:
    """End the browser's session (audited when there was one)."""
    if key and sessions.end(session, key) and user is not None:
        audit.record(session, "user.logout", actor=user)


def change_own_password(session: Session, user: User, current: str, new: str, confirm: str,
                        *, address: str, limits: LoginLimits) -> LoginResult:
    """A user changes their password, proving the current one (a wrong one counts as a failed
    log-in). Every session and token of the user ends (``directory.set_password``); the result
    carries a fresh session for the browser that asked. Bad new passwords raise BadInput
    before anything is written."""
    if new != confirm:
        raise BadInput(msg("the two new passwords differ"))
    if len(new) < directory.MIN_PASSWORD:
        raise BadInput(msg("the password must have at least %(min_password)s characters",
                           min_password=directory.MIN_PASSWORD))
    if new == current:
        raise BadInput(msg("the new password must differ from the current one"))
    result = _check(session, user.name, current, address, limits, during="password_change")
    if result.user is None:
        return result
    directory.set_password(session, user, new, actor=user)
    key = sessions.start(session, user, hours=limits.session_hours, address=address)
    return LoginResult(user=user, key=key)


def unlock(session: Session, name: str, *, actor: User | None) -> bool:
    """Lift the lock-out of a user's name (and forget its failures); audited. Returns whether
    it was locked."""
    user = directory.get_user(session, name)
    row = session.execute(select(LoginThrottle).where(
        LoginThrottle.scope == NAME, LoginThrottle.key == user.name)).scalar_one_or_none()
    was_locked = _locked(row, utcnow())
    if row is not None:
        session.delete(row)
    audit.record(session, "user.unlocked", actor=actor, user=user.name, was_locked=was_locked)
    return was_locked


def unlock_address(session: Session, address: str, *, actor: User | None) -> bool:
    """Lift the block of a client address; audited. Returns whether it was blocked."""
    row = session.execute(select(LoginThrottle).where(
        LoginThrottle.scope == ADDRESS, LoginThrottle.key == address)).scalar_one_or_none()
    was_locked = _locked(row, utcnow())
    if row is not None:
        session.delete(row)
    audit.record(session, "login.address_unblocked", actor=actor, address=address,
                 was_locked=was_locked)
    return was_locked
