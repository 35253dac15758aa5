"""Share links to a sealed document, the domain's side (app/api/shares.py and app/web/shares.py
serve it): anyone holding one opens the document's page (``/s/<token>``: the sealed PDF and its
verification) until the link expires or is revoked.

Made by those who may see the request (DESIGN "Who sees what": its requester, its approvers, its
seal's custodians, auditors...), for a sealed request only, with an expiry and optionally a
password. Only the token's SHA-256 is stored (the link is shown once, when made) and the
password's hash as a user's. Making, revoking, each opening and each download are audited.
Wrong passwords are counted per link in the database (:func:`try_password`), so guesses from
many addresses and every worker process count against the same limit; the app also limits each
address's rate (app/web/shares.py)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit, isotime
from processes.errors import BadInput, Gone, InvalidContent, NotFound, WorkflowStateError, msg
from processes.models import Request, User, utcnow
from processes.people import logins
from processes.people.directory import Identity
from processes.people.passwords import hash_password, verify_password
from processes.requests.queries import get_visible
from processes.share_models import ShareLink

MAX_DAYS = 366
"""The longest a link may live: a year (and a day, for "a year from today")."""
MAX_PASSWORD = 200
MIN_PASSWORD = 6
TOKEN_PREFIX = "sh_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _expiry(value: datetime | str | None, now: datetime) -> datetime:
    def refuse(message):
        return InvalidContent(message, [{"field": "expires_at", "message": message}])

    if value is None or value == "":
        raise refuse(msg("say when the link expires"))
    if isinstance(value, str):
        try:  # a date: the link works to the end of that day
            value = isotime.moment(value, "expires_at", day_end=len(value.strip()) == 10)
        except BadInput as exc:
            raise refuse(exc.message) from None
    if value <= now:
        raise refuse(msg("the expiry must be in the future"))
    if value > now + timedelta(days=MAX_DAYS):
        raise refuse(msg("a link lives at most %(days)s days", days=MAX_DAYS))
    return value


def make(session: Session, identity: Identity, request_id: int, *,
         expires_at: datetime | str | None, password: str | None = None
         ) -> tuple[ShareLink, str]:
    """A new link to request ``request_id``'s sealed document: the link's row and its token
    (shown once; only its hash is kept).

    :raises NotFound: no such request, or the caller may not see it.
    :raises WorkflowStateError: the request is not sealed.
    :raises InvalidContent: the expiry is missing, past or too far; the password too short or
        too long.
    """
    req = get_visible(session, identity, request_id)
    if req.sealed_document_id is None:
        raise WorkflowStateError(msg("request %(request_id)s is %(status)s: only a sealed "
                                     "document is shared", request_id=req.id,
                                     status=req.status.value))
    now = utcnow()
    expires = _expiry(expires_at, now)
    if password is not None and password != "" and not \
            MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        message = msg("a link's password has %(low)s to %(high)s characters", low=MIN_PASSWORD,
                      high=MAX_PASSWORD)
        raise InvalidContent(message, [{"field": "password", "message": message}])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    link = ShareLink(request_id=req.id, token_hash=token_hash(token), expires_at=expires,
                     password_hash=hash_password(password) if password else None,
                     created_by_id=identity.user.id, created_at=now)
    session.add(link)
    session.flush()
    audit.record(session, "share.created", actor=identity.user, request_id=req.id,
                 share=link.id, expires_at=expires.isoformat(), password=bool(password))
    return link, token


def revoke(session: Session, identity: Identity, share_id: int) -> ShareLink:
    """Revoke a link (whoever may see its request may); revoking it again changes nothing.

    :raises NotFound: no such link, or the caller may not see its request."""
    link = session.get(ShareLink, share_id)
    if link is None:
        raise NotFound(msg("no share link %(share_id)s", share_id=share_id))
    try:
        get_visible(session, identity, link.request_id)
    except NotFound:
        raise NotFound(msg("no share link %(share_id)s", share_id=share_id)) from None
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        link.revoked_by_id = identity.user.id
        audit.record(session, "share.revoked", actor=identity.user, request_id=link.request_id,
                     share=link.id)
    return link


def state(link: ShareLink, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if link.revoked_at is not None:
        return "revoked"
    return "expired" if link.expires_at <= (now or utcnow()) else "active"


def describe(link: ShareLink, made_by: str | None = None) -> dict:
    return {"id": link.id, "request_id": link.request_id,
            "expires_at": link.expires_at.isoformat(), "created_at": link.created_at.isoformat(),
            "created_by": made_by, "password": link.password_hash is not None,
            "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
            "state": state(link)}


def listing(session: Session, request_id: int) -> list[dict]:
    """A request's links, newest first, with who made each (one query; the caller has
    checked that the request is visible)."""
    rows = session.execute(select(ShareLink, User.name).join(
        User, User.id == ShareLink.created_by_id).where(ShareLink.request_id == request_id)
        .order_by(ShareLink.id.desc())).all()
    return [describe(link, name) for link, name in rows]


def find(session: Session, token: str) -> tuple[ShareLink, Request]:
    """The link a token opens, and its request.

    :raises NotFound: no link has this token.
    :raises Gone: the link expired or was revoked (the message says which)."""
    row = session.execute(select(ShareLink, Request).join(
        Request, Request.id == ShareLink.request_id).where(
        ShareLink.token_hash == token_hash(token))).first() if token else None
    if row is None:
        raise NotFound(msg("no such share link"))
    link, req = row
    now = state(link)
    if now == "revoked":
        raise Gone(msg("this share link was revoked"))
    if now == "expired":
        raise Gone(msg("this share link expired on %(at)s", at=link.expires_at.isoformat()))
    return link, req


def password_matches(link: ShareLink, password: str) -> bool:
    return link.password_hash is None or (
        len(password) <= MAX_PASSWORD and verify_password(link.password_hash, password))


def opened(session: Session, link: ShareLink, *, download: bool, address: str | None) -> None:
    """Record an opening of the link's page (or a download of its sealed PDF)."""
    audit.record(session, "share.downloaded" if download else "share.opened",
                 request_id=link.request_id, share=link.id, address=address)


def refused(session: Session, link: ShareLink, *, address: str | None) -> None:
    """Record a wrong password tried on the link (guesses show in the audit log)."""
    audit.record(session, "share.password_refused", request_id=link.request_id, share=link.id,
                 address=address)


THROTTLE = "share"
"""The scope of a link's count of wrong passwords (``LoginThrottle``, keyed by the link's id)."""


def try_password(session: Session, link: ShareLink, password: str, *, address: str | None,
                 limits: logins.LoginLimits) -> tuple[bool, int]:
    """Whether ``password`` opens the link, and else the seconds until another try is heard
    (0: just wrong). ``limits.failures`` wrong passwords within ``limits.minutes`` lock the link
    for ``limits.minutes``, whoever tries (its row held until the commit, so parallel guesses
    cannot slip past); each wrong one is audited, and the lock too."""
    now = utcnow()
    counter = logins.throttle(session, THROTTLE, str(link.id), now, limits)
    wait = logins.wait_for([counter], now)
    if wait:
        return False, wait
    if password_matches(link, password):
        session.delete(counter)  # as a log-in's: the right password clears the count
        return True, 0
    counter.failures += 1
    refused(session, link, address=address)
    if counter.failures >= limits.failures:
        counter.locked_until = now + timedelta(minutes=limits.minutes)
        audit.record(session, "share.locked", request_id=link.request_id, share=link.id,
                     until=counter.locked_until.isoformat(), failures=counter.failures)
        return False, logins.wait_for([counter], now)
    return False, 0
