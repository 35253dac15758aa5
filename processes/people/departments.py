"""What administrators do to groups (departments; the page /admin/groups, the CLI's ``group
add``): a page of groups with their heads and members, adding a group, naming or clearing its
head, adding and removing members. Only administrators; every change is audited. A head is a
member of the group they head (as ``directory.add_group`` makes them), so the head is removed
from the members only after another head is named."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from processes import audit
from processes.errors import BadInput, msg
from processes.models import Group, Membership, User
from processes.people import directory
from processes.people.accounts import refusal, require_admin
from processes.people.directory import Identity

logger = logging.getLogger(__name__)

PER_PAGE = 25
MAX_NAME = 200


@dataclass(frozen=True)
class GroupRow:
    """A group with its head and its members (active or not), by name."""

    group: Group
    head: User | None
    members: list[User]


@dataclass(frozen=True)
class GroupsPage:
    rows: list[GroupRow]
    total: int
    page: int
    pages: int


def _members(session: Session, group_ids: list[int]) -> dict[int, list[User]]:
    found: dict[int, list[User]] = defaultdict(list)
    if group_ids:
        for group_id, user in session.execute(
                select(Membership.group_id, User).join(User, User.id == Membership.user_id)
                .where(Membership.group_id.in_(group_ids)).order_by(User.name)):
            found[group_id].append(user)
    return found


def find_groups(session: Session, who: Identity, query: str = "", page: int = 1,
                per_page: int = PER_PAGE) -> GroupsPage:
    """One page of groups, by key, whose key or name contains ``query``, with heads and
    members (three statements)."""
    require_admin(who)
    text = query.strip().lower()[:100]
    where = [or_(func.lower(Group.key).contains(text, autoescape=True),
                 func.lower(Group.name).contains(text, autoescape=True))] if text else []
    total = session.execute(select(func.count(Group.id)).where(*where)).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(
        select(Group, User).outerjoin(User, User.id == Group.head_id).where(*where)
        .order_by(Group.key).offset((page - 1) * per_page).limit(per_page)).all()
    members = _members(session, [g.id for g, _head in rows])
    return GroupsPage([GroupRow(g, head, members[g.id]) for g, head in rows], total, page,
                      pages)


def group_row(session: Session, who: Identity, key: str) -> GroupRow:
    require_admin(who)
    group = directory.get_group(session, key)
    return GroupRow(group, group.head, _members(session, [group.id])[group.id])


def _user(session: Session, field_name: str, name: str) -> User:
    name = name.strip()
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none() \
        if name else None
    if user is None:
        raise refusal(field_name, msg("there is no user named %(name)s", name=name or "—"))
    if not user.active:
        raise refusal(field_name, msg("%(name)s is deactivated", name=user.name))
    return user


def create_group(session: Session, who: Identity, *, key: str, name: str,
                 head: str = "") -> Group:
    """A new group (a key not taken), optionally with its head (who becomes a member)."""
    require_admin(who)
    try:
        key = directory.clean_name(key)
    except BadInput as exc:
        raise refusal("key", exc.message) from None
    if session.execute(select(Group.id).where(Group.key == key)).first():
        raise refusal("key", msg("there is already a group %(key)s", key=key))
    shown = name.strip() or key
    if len(shown) > MAX_NAME:
        raise refusal("name", msg("give a name of at most %(count)s characters", count=MAX_NAME))
    head_user = _user(session, "head", head) if head.strip() else None
    group = directory.add_group(session, key, name=shown,
                                head=head_user.name if head_user else None)
    audit.record(session, "group.created", actor=who.user, group=group.key, name=group.name,
                 head=head_user.name if head_user else None)
    logger.info("group %s added by %s", group.key, who.user.name)
    return group


def set_head(session: Session, who: Identity, key: str, head: str) -> Group:
    """Name the group's head (who becomes a member), or clear it (``""``)."""
    require_admin(who)
    group = directory.get_group(session, key)
    before = group.head.name if group.head else None
    if not head.strip():
        group.head = None
    else:
        user = _user(session, "head", head)
        group.head = user
        session.flush()
        if session.get(Membership, (user.id, group.id)) is None:
            session.add(Membership(user_id=user.id, group_id=group.id))
    after = group.head.name if group.head else None
    if after != before:
        audit.record(session, "group.head_changed", actor=who.user, group=group.key,
                     head=after, previous=before)
    session.flush()
    return group


def add_member(session: Session, who: Identity, key: str, name: str) -> User:
    require_admin(who)
    group = directory.get_group(session, key)
    user = _user(session, "member", name)
    if session.get(Membership, (user.id, group.id)) is not None:
        raise refusal("member", msg("%(name)s is already in %(group)s", name=user.name,
                                 group=group.key))
    session.add(Membership(user_id=user.id, group_id=group.id))
    audit.record(session, "group.member_added", actor=who.user, group=group.key,
                 user=user.name)
    session.flush()
    return user


def remove_member(session: Session, who: Identity, key: str, name: str) -> None:
    require_admin(who)
    group = directory.get_group(session, key)
    user = directory.get_user(session, name)
    row = session.get(Membership, (user.id, group.id))
    if row is None:
        raise BadInput(msg("%(name)s is not in %(group)s", name=user.name, group=group.key))
    if group.head_id == user.id:
        raise BadInput(msg("%(name)s heads %(groups)s: name another head first",
                           name=user.name, groups=group.key))
    session.delete(row)
    audit.record(session, "group.member_removed", actor=who.user, group=group.key,
                 user=user.name)
    session.flush()
