"""Users, groups, roles, passwords and API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from processes import audit
from processes.errors import BadInput, NotFound, msg
from processes.models import ApiToken, Group, Membership, Role, User, UserRole, utcnow
from processes.people import sessions, tokens
from processes.people.passwords import hash_password, needs_rehash, verify_password

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "sf_"
SCOPES = {"api", "act_as", "messages"}


@dataclass(frozen=True)
class Identity:
    """Who is calling: the user, and the token's scopes (None for a browser session)."""

    user: User
    scopes: frozenset[str] | None = None
    token_id: int | None = None
    token_use_due: bool = False
    """This use of the token is to be recorded (none recorded within the last minute)."""
    token_first_today: bool = False
    """No use of the token is recorded today yet (UTC): this one is audited
    (``tokens.record_use``)."""

    def has_role(self, *roles: str) -> bool:
        names = self.user.role_names
        return "admin" in names or any(r in names for r in roles)


def clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 80 or any(c.isspace() for c in name) or "," in name:
        raise BadInput(msg("invalid name %(name)r: 1-80 characters, no spaces or commas",
                           name=name))
    return name


def names_in(text: Any) -> list[str]:
    """User names in a comma-separated form value (``"carol, dora"``), blanks dropped."""
    return [n.strip() for n in str(text or "").split(",") if n.strip()]


def users_named(session: Session, text: Any) -> list[User]:
    """The users a comma-separated form value names (those that exist)."""
    return list(session.execute(select(User).where(User.name.in_(names_in(text)))).scalars())


def parse_roles(text: str | None) -> list[Role]:
    roles = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            roles.append(Role(part))
        except ValueError:
            raise BadInput(msg("unknown role '%(role)s'; roles are: %(roles)s", role=part,
                               roles=", ".join(r.value for r in Role))) from None
    return roles


def clean_email(email: str) -> str | None:
    email = email.strip()
    if not email:
        return None
    local, _, domain = email.rpartition("@")
    if (len(email) > 254 or not local or "." not in domain or domain.startswith(".")
            or any(c.isspace() or c in ",;<>\"" for c in email)):
        raise BadInput(msg("invalid e-mail address %(email)r", email=email))
    return email


def get_user(session: Session, name: str) -> User:
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(msg("no user named '%(name)s'", name=name))
    return user


def get_group(session: Session, key: str) -> Group:
    group = session.execute(select(Group).where(Group.key == key)).scalar_one_or_none()
    if group is None:
        raise NotFound(msg("no group '%(key)s'", key=key))
    return group


def add_user(session: Session, name: str, *, password: str | None = None,
             display_name: str | None = None, groups: Sequence[str] = (),
             roles: Sequence[Role] = (), email: str | None = None,
             audited: bool = False) -> User:
    """Create a user, or update an existing one's password, groups, roles and e-mail address
    (``""`` removes it). ``audited`` (the command line): the creation, or what changed, is
    recorded as ``user.created`` or ``user.changed`` (a password change is recorded anyway)."""
    name = clean_name(name)
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    changes: dict[str, Any] = {}
    created = user is None
    if user is None:
        user = User(name=name, display_name=display_name or name, active=True)
        session.add(user)
        logger.info("user %s created", name)
    elif display_name and display_name != user.display_name:
        user.display_name = changes["display_name"] = display_name
    if email is not None and clean_email(email) != user.email:
        user.email = changes["email"] = clean_email(email)
    if password is not None:
        set_password(session, user, password, actor=None)
    session.flush()
    have_groups = {g.key for g in groups_of(session, user.id)} if audited else set()
    for key in groups:
        group = get_group(session, key)
        if session.get(Membership, (user.id, group.id)) is None:
            session.add(Membership(user_id=user.id, group_id=group.id))
    if set(groups) - have_groups:
        changes["groups"] = sorted(have_groups | set(groups))
    have = user.role_names
    for role in roles:
        if role.value not in have:
            user.roles.append(UserRole(role=role))
    if {r.value for r in roles} - have:
        changes["roles"] = sorted(have | {r.value for r in roles})
    session.flush()
    if audited and created:
        audit.record(session, "user.created", user=user.name, roles=sorted(user.role_names),
                     groups=sorted(set(groups)), email=user.email)
    elif audited and changes:
        audit.record(session, "user.changed", user=user.name, **changes)
    return user


MIN_PASSWORD = 8


def set_password(session: Session, user: User, password: str, *,
                 actor: User | None) -> bool:
    """Set the user's password. When it replaces another one, whoever knew the old one may
    have logged in or made tokens with it: every session of the user ends and every token is
    revoked (audited). Returns whether it was such a change (not a first password, nor the
    same one again)."""
    if len(password) < MIN_PASSWORD:
        raise BadInput(msg("the password must have at least %(count)s characters",
                           count=MIN_PASSWORD))
    old = user.password_hash or ""
    changed = bool(old) and not verify_password(old, password)
    user.password_hash = hash_password(password)
    if changed:
        ended = sessions.end_all(session, user)
        revoked = tokens.revoke_all(session, user)
        audit.record(session, "user.password_changed", actor=actor, user=user.name,
                     sessions_ended=ended, tokens_revoked=revoked)
        logger.info("password of user %s changed; %d session(s) ended, %d token(s) revoked",
                    user.name, ended, len(revoked))
    return changed


def deactivate_user(session: Session, name: str, *, actor: User | None = None) -> User:
    """Deactivate a user: their sessions end and their tokens are revoked (audited)."""
    user = get_user(session, name)
    user.active = False
    ended = sessions.end_all(session, user)
    revoked = tokens.revoke_all(session, user)
    audit.record(session, "user.deactivated", actor=actor, user=user.name,
                 sessions_ended=ended, tokens_revoked=revoked)
    return user


def add_group(session: Session, key: str, *, name: str | None = None,
              head: str | None = None) -> Group:
    key = clean_name(key)
    group = session.execute(select(Group).where(Group.key == key)).scalar_one_or_none()
    if group is None:
        group = Group(key=key, name=name or key)
        session.add(group)
    elif name:
        group.name = name
    if head:
        head_user = get_user(session, head)
        group.head = head_user
        session.flush()
        if session.get(Membership, (head_user.id, group.id)) is None:
            session.add(Membership(user_id=head_user.id, group_id=group.id))
    session.flush()
    return group


def check_password(session: Session, name: str, password: str) -> User | None:
    """The active user ``name`` if ``password`` is theirs. A hash of an older method or cost
    (Werkzeug's pbkdf2) is replaced by a current one once the password has verified."""
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None or not user.active or not user.password_hash:
        # Spend the same time as a real check, so timing does not reveal user names.
        verify_password(_DUMMY_HASH, password or "")
        return None
    if not verify_password(user.password_hash, password or ""):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        logger.info("password hash of user %s renewed in the current format", user.name)
    return user


_DUMMY_HASH = hash_password("not-a-real-password")


def token_hash(token: str) -> str:
    # Tokens are 256-bit random: a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, *, name: str = "",
                 scopes: Sequence[str] = (), actor: User | None = None) -> str:
    """Create a bearer token; returns it in clear (the only time it is seen). Audited."""
    unknown = set(scopes) - SCOPES
    if unknown:
        raise BadInput(f"unknown scope(s) {', '.join(sorted(unknown))}; scopes are: "
                       + ", ".join(sorted(SCOPES)))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=token_hash(token), name=name[:120],
                   scopes=",".join(sorted(set(scopes) | {"api"})))
    session.add(row)
    session.flush()
    audit.record(session, "user.token_created", actor=actor, user=user.name, token=row.id,
                 name=row.name, scopes=row.scopes)
    logger.info("token %d created for user %s", row.id, user.name)
    return token


_TOKEN = (select(ApiToken, User).join(User, ApiToken.user_id == User.id)
          .where(ApiToken.token_hash == bindparam("hash")))


def identity_from_token(session: Session, token: str) -> Identity | None:
    row = session.execute(_TOKEN, {"hash": token_hash(token)}).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked or not user.active:
        return None
    now = utcnow()
    return Identity(user, frozenset(s for s in api_token.scopes.split(",") if s),
                    token_id=api_token.id,
                    token_use_due=tokens.use_due(api_token.last_used_at, now),
                    token_first_today=tokens.first_today(api_token.last_used_at, now))


def groups_of(session: Session, user_id: int) -> list[Group]:
    return list(session.execute(
        select(Group).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user_id).order_by(Group.key)).scalars())


def describe(session: Session, user: User) -> dict:
    return {"id": user.id, "name": user.name, "display_name": user.display_name,
            "groups": [g.key for g in groups_of(session, user.id)],
            "roles": sorted(user.role_names)}
