"""What administrators do to users (the page /admin/users; the CLI's ``user`` commands reach
the same rules through ``directory``): a page of users found by a search, one user's record,
adding a user, deactivating and reactivating, their display name, e-mail address, roles and
groups. Only administrators; every change is audited. An administrator never deactivates
themselves nor takes their own admin role (nobody would be left to give it back)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from processes import audit
from processes.auth_models import LoginThrottle
from processes.errors import BadInput, NotAllowed, msg
from processes.models import Group, Membership, Role, User, UserRole, utcnow
from processes.people import directory, logins, out_of_office, tokens
from processes.people.directory import Identity

logger = logging.getLogger(__name__)

PER_PAGE = 25
MAX_DISPLAY_NAME = 200


def require_admin(who: Identity) -> None:
    """:raises NotAllowed: unless ``who`` is an administrator."""
    if not who.has_role("admin"):
        raise NotAllowed(msg("the administration pages are for administrators"))


def refusal(name: str, message: str) -> BadInput:
    """A refusal naming the form field to correct (the page shows it next to that input)."""
    return BadInput(message, problems=[{"field": name, "message": message}])


@dataclass(frozen=True)
class UserRow:
    """A user as the list shows them."""

    user: User
    roles: list[str]
    groups: list[str]
    locked_until: datetime | None = None


@dataclass(frozen=True)
class UsersPage:
    rows: list[UserRow]
    total: int
    page: int
    pages: int


def _locks(session: Session, names: Sequence[str]) -> dict[str, LoginThrottle]:
    """The names among ``names`` locked out now (too many failed log-ins)."""
    if not names:
        return {}
    rows = session.execute(select(LoginThrottle).where(
        LoginThrottle.scope == logins.NAME, LoginThrottle.key.in_(names),
        LoginThrottle.locked_until > utcnow())).scalars()
    return {r.key: r for r in rows}


def find_users(session: Session, who: Identity, query: str = "", page: int = 1,
               per_page: int = PER_PAGE) -> UsersPage:
    """One page of users, by name, whose name, display name or e-mail address contains
    ``query`` (any case), with their roles, groups and lock-outs (four statements in all)."""
    require_admin(who)
    text = query.strip().lower()[:100]
    where = []
    if text:
        where.append(or_(*(func.lower(column).contains(text, autoescape=True)
                           for column in (User.name, User.display_name, User.email))))
    total = session.execute(select(func.count(User.id)).where(*where)).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    users = list(session.execute(select(User).where(*where).order_by(User.name)
                                 .offset((page - 1) * per_page).limit(per_page)).scalars())
    ids = [u.id for u in users]
    roles: dict[int, list[str]] = defaultdict(list)
    groups: dict[int, list[str]] = defaultdict(list)
    if ids:
        for user_id, role in session.execute(select(UserRole.user_id, UserRole.role)
                                             .where(UserRole.user_id.in_(ids))):
            roles[user_id].append(role.value)
        for user_id, key in session.execute(
                select(Membership.user_id, Group.key).join(Group, Group.id == Membership.group_id)
                .where(Membership.user_id.in_(ids)).order_by(Group.key)):
            groups[user_id].append(key)
    locks = _locks(session, [u.name for u in users])
    rows = [UserRow(u, sorted(roles[u.id]), groups[u.id],
                    locks[u.name].locked_until if u.name in locks else None) for u in users]
    return UsersPage(rows, total, page, pages)


@dataclass(frozen=True)
class UserRecord:
    """One user as their page shows them."""

    user: User
    roles: list[str]
    groups: list[str]
    heads: list[str]
    """The groups they head."""
    tokens: list[dict]
    lock: LoginThrottle | None
    absence: out_of_office.Absence | None
    all_groups: list[Group] = field(default_factory=list)


def user_record(session: Session, who: Identity, name: str) -> UserRecord:
    require_admin(who)
    user = directory.get_user(session, name)
    mine = directory.groups_of(session, user.id)
    heads = list(session.execute(select(Group.key).where(Group.head_id == user.id)
                                 .order_by(Group.key)).scalars())
    return UserRecord(user, sorted(user.role_names), [g.key for g in mine], heads,
                      [tokens.describe(t) for t in tokens.tokens_of(session, user)],
                      _locks(session, [user.name]).get(user.name),
                      out_of_office.absence_of(session, user), all_groups(session))


def all_groups(session: Session) -> list[Group]:
    return list(session.execute(select(Group).order_by(Group.key)).scalars())


def _roles(names: Sequence[str]) -> list[Role]:
    try:
        return [Role(n) for n in names]
    except ValueError:
        raise refusal("roles", msg("unknown role; roles are: %(roles)s",
                                roles=", ".join(r.value for r in Role))) from None


def _groups(session: Session, keys: Sequence[str]) -> list[Group]:
    found = list(session.execute(select(Group).where(Group.key.in_(keys))).scalars())
    missing = sorted(set(keys) - {g.key for g in found})
    if missing:
        raise refusal("groups", msg("no group %(key)s", key=", ".join(missing)))
    return found


def _display_name(text: str) -> str:
    text = text.strip()
    if not text or len(text) > MAX_DISPLAY_NAME:
        raise refusal("display_name", msg("give a display name of at most %(count)s characters",
                                       count=MAX_DISPLAY_NAME))
    return text


def create_user(session: Session, who: Identity, *, name: str, display_name: str,
                email: str, password: str, roles: Sequence[str] = (),
                groups: Sequence[str] = ()) -> User:
    """Add a user with a first password (the password rules of ``directory``), roles and
    groups; audited. A name already taken is refused (the CLI's ``user add`` updates instead).
    """
    require_admin(who)
    try:
        name = directory.clean_name(name)
    except BadInput as exc:
        raise refusal("name", exc.message) from None
    if session.execute(select(User.id).where(User.name == name)).first():
        raise refusal("name", msg("there is already a user named %(name)s", name=name))
    shown = _display_name(display_name or name)
    try:
        directory.clean_email(email)
    except BadInput as exc:
        raise refusal("email", exc.message) from None
    if len(password) < directory.MIN_PASSWORD:
        raise refusal("password", msg("the password must have at least %(count)s characters",
                                   count=directory.MIN_PASSWORD))
    role_list = _roles(roles)
    keys = [g.key for g in _groups(session, groups)]
    user = directory.add_user(session, name, password=password, display_name=shown,
                              groups=keys, roles=role_list, email=email)
    audit.record(session, "user.created", actor=who.user, user=user.name,
                 roles=sorted(r.value for r in role_list), groups=sorted(keys),
                 email=user.email)
    logger.info("user %s added by %s", user.name, who.user.name)
    return user


def update_user(session: Session, who: Identity, name: str, *, display_name: str,
                email: str, roles: Sequence[str], groups: Sequence[str]) -> User:
    """Change a user's display name, e-mail address, roles and groups; what changed is
    audited. A head stays a member of the group they head; an administrator keeps their own
    admin role."""
    require_admin(who)
    user = directory.get_user(session, name)
    shown = _display_name(display_name)
    try:
        address = directory.clean_email(email)
    except BadInput as exc:
        raise refusal("email", exc.message) from None
    wanted_roles = {r.value for r in _roles(roles)}
    wanted = {g.id: g for g in _groups(session, groups)}
    if user.id == who.user.id and "admin" in user.role_names and "admin" not in wanted_roles:
        raise refusal("roles", msg("you cannot take the admin role from yourself"))
    current = {g.id: g for g in directory.groups_of(session, user.id)}
    headed = [g.key for g in current.values() if g.head_id == user.id and g.id not in wanted]
    if headed:
        raise refusal("groups", msg("%(name)s heads %(groups)s: name another head first",
                                 name=user.name, groups=", ".join(headed)))
    changes: dict[str, Any] = {}
    if shown != user.display_name:
        changes["display_name"] = shown
        user.display_name = shown
    if address != user.email:
        changes["email"] = address
        user.email = address
    have_roles = user.role_names
    if wanted_roles != have_roles:
        changes["roles"] = sorted(wanted_roles)
        user.roles[:] = [r for r in user.roles if r.role.value in wanted_roles]
        user.roles.extend(UserRole(role=Role(r)) for r in sorted(wanted_roles - have_roles))
    if set(wanted) != set(current):
        changes["groups"] = sorted(g.key for g in wanted.values())
        for group_id in set(current) - set(wanted):
            session.delete(session.get_one(Membership, (user.id, group_id)))
        for group_id in set(wanted) - set(current):
            session.add(Membership(user_id=user.id, group_id=group_id))
    if changes:
        audit.record(session, "user.changed", actor=who.user, user=user.name, **changes)
    session.flush()
    return user


def set_active(session: Session, who: Identity, name: str, active: bool) -> User:
    """Deactivate (their sessions end, their tokens are revoked: ``directory``) or reactivate
    a user; audited."""
    require_admin(who)
    user = directory.get_user(session, name)
    if user.id == who.user.id:
        raise BadInput(msg("you cannot deactivate yourself"))
    if not active:
        if user.active:
            directory.deactivate_user(session, name, actor=who.user)
        return user
    if not user.active:
        user.active = True
        audit.record(session, "user.reactivated", actor=who.user, user=user.name)
    return user


def reset_password(session: Session, who: Identity, name: str, password: str,
                   confirm: str) -> User:
    """Give a user a new password (they forgot theirs): their sessions end and their tokens
    are revoked (``directory.set_password``, audited as ``user.password_changed``)."""
    require_admin(who)
    user = directory.get_user(session, name)
    if password != confirm:
        raise refusal("confirm_password", msg("the two new passwords differ"))
    if len(password) < directory.MIN_PASSWORD:
        raise refusal("new_password", msg("the password must have at least %(count)s characters",
                                          count=directory.MIN_PASSWORD))
    if not directory.set_password(session, user, password, actor=who.user):
        # A first password (or the same again) ends nothing, but is audited all the same.
        audit.record(session, "user.password_changed", actor=who.user, user=user.name,
                     sessions_ended=0, tokens_revoked=[])
    return user


def unlock(session: Session, who: Identity, name: str) -> bool:
    """Lift a lock-out after failed log-ins (``logins.unlock``, audited)."""
    require_admin(who)
    return logins.unlock(session, name, actor=who.user)


def lockouts(session: Session, who: Identity) -> list[LoginThrottle]:
    """The users' names and the client addresses locked out now after failed log-ins (a
    name that is no user's locks nobody out: left out), the lock that ends last first."""
    require_admin(who)
    is_user = exists(select(User.id).where(User.name == LoginThrottle.key))
    return list(session.execute(select(LoginThrottle).where(
        LoginThrottle.locked_until > utcnow(),
        or_(LoginThrottle.scope == logins.ADDRESS, is_user))
        .order_by(LoginThrottle.locked_until.desc(), LoginThrottle.key)
        .limit(100)).scalars())


def unblock_address(session: Session, who: Identity, address: str) -> bool:
    """Lift the block of a client address (``logins.unlock_address``, audited)."""
    require_admin(who)
    address = address.strip()
    if not address or len(address) > 255:
        raise BadInput(msg("name the client address to unblock"))
    return logins.unlock_address(session, address, actor=who.user)


def revoke_token(session: Session, who: Identity, name: str, token_id: int) -> None:
    """Revoke one of a user's tokens (audited)."""
    require_admin(who)
    user = tokens.owner(session, who, name)
    tokens.revoke(session, tokens.get_token(session, user, token_id), actor=who.user)
