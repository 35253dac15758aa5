"""Out-of-office (the API is app/api/people.py): a user away over a range of time names a
deputy; the inbox (processes/requests/inbox.py) hands the deputy the tasks created for the user
meanwhile.

The rules, in one place:

- The range is ``from`` and ``to``: ISO dates (the whole days, in SEALFLOW_TIMEZONE: ``to`` is
  the last day away) or date-times with an offset (``to`` the first moment back). An inverted
  or empty range is refused, so is one that ends in the past or lasts over a year.
- The deputy is another user, known and active. Setting a new range replaces the old one;
  ``null`` clears it. The user sets their own; an administrator may set anyone's.
- Only tasks CREATED in the range move; tasks already open stay where they are.
- An assignee who is away: the task is assigned to the deputy. A candidate user who is away:
  replaced by the deputy among the candidates. Candidate groups are unchanged: the group's
  other members are there to cover, and a deputy outside the department would not be.
- One hop only: a deputy who is away too still gets the task (no chains, no loops).
- Never to a deputy the separation of duties excludes (the request's requester, whoever filed
  it, or whoever worked another instance of the same countersign), nor to one deactivated
  since: the task then stays with the absent user, and the task records why.
- A deputy's approval counts as theirs: a seal policy demanding an approval by a role
  (custodian, department head, group) is met only by someone who holds that role
  (processes/seals/policy.py checks the approvers' names against the roles at sealing).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.orm import Session, aliased

from processes import audit, isotime
from processes.away_models import OutOfOffice
from processes.errors import BadInput, Message, NotAllowed, msg
from processes.models import User, utcnow
from processes.people.directory import Identity, get_user

logger = logging.getLogger(__name__)

MAX_DAYS = 366
"""No absence is set for longer than this (a deputy is a stand-in, not a transfer)."""


def _bad(field: str, message: Message) -> BadInput:
    """A refusal that names the field to correct (the /me page shows it next to that input)."""
    return BadInput(message, problems=[{"field": field, "message": message}])


def _moment(raw: Any, field: str, *, end: bool) -> datetime:
    """A range's end from JSON: a date (start of that day; for ``to``, start of the next) or
    a date-time with an offset."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 40:
        raise _bad(field, msg("%(field)s must be an ISO 8601 date or date-time, such as "
                              "2027-01-04", field=field))
    text = raw.strip()
    zone = ZoneInfo(isotime.timezone_name())
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(), zone).astimezone(UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise _bad(field, msg("%(field)s %(text)r is not an ISO 8601 date or date-time, such "
                              "as 2027-01-04", field=field, text=text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def owner(session: Session, who: Identity, name: str | None) -> User:
    """Whose absence ``who`` sets: their own (``name`` None or theirs), or, for an
    administrator, anyone's."""
    if name is None or name == who.user.name:
        return who.user
    if not who.has_role("admin"):
        raise NotAllowed(msg("only administrators may set another user's out-of-office"))
    return get_user(session, name)


def set_absence(session: Session, user: User, body: Any, *, actor: User,
                now: datetime | None = None) -> OutOfOffice | None:
    """Set (``{from, to, deputy}``) or clear (``None``) ``user``'s out-of-office, audited.

    :raises BadInput: a malformed body, an inverted, past or too long range, or a deputy who is
        unknown, inactive or the user themselves.
    """
    current = session.get(OutOfOffice, user.id)
    if body is None:
        if current is not None:
            session.delete(current)
            audit.record(session, "user.out_of_office_cleared", actor=actor, user=user.name)
        return None
    if not isinstance(body, dict) or set(body) - {"from", "to", "deputy"}:
        raise BadInput(msg('the body must be {"from": ..., "to": ..., "deputy": user name} or '
                           "null"))
    starts = _moment(body.get("from"), "from", end=False)
    ends = _moment(body.get("to"), "to", end=True)
    now = now or utcnow()
    if ends <= starts:
        raise _bad("to", msg("the range ends (%(to)s) before it starts (%(from)s)",
                             to=body.get("to"), **{"from": body.get("from")}))
    if ends <= now:
        raise _bad("to", msg("the range ended already (%(to)s)", to=body.get("to")))
    if ends - starts > timedelta(days=MAX_DAYS):
        raise _bad("to", msg("an absence is set for at most %(days)s days", days=MAX_DAYS))
    deputy_name = body.get("deputy")
    if not isinstance(deputy_name, str) or not deputy_name.strip():
        raise _bad("deputy", msg("deputy must be the user name of the person who stands in"))
    deputy = session.execute(select(User).where(User.name == deputy_name.strip())
                             ).scalar_one_or_none()
    if deputy is None:
        raise _bad("deputy", msg("the deputy %(name)r is not a user", name=deputy_name))
    if not deputy.active:
        raise _bad("deputy", msg("the deputy %(name)s is deactivated", name=deputy.name))
    if deputy.id == user.id:
        raise _bad("deputy", msg("%(name)s cannot be their own deputy", name=user.name))
    if current is None:
        current = OutOfOffice(user_id=user.id)
        session.add(current)
    current.starts_at, current.ends_at, current.deputy_id = starts, ends, deputy.id
    current.set_by_id, current.set_at = actor.id, now
    session.flush()
    audit.record(session, "user.out_of_office_set", actor=actor, user=user.name,
                 deputy=deputy.name, starts_at=starts.isoformat(), ends_at=ends.isoformat())
    logger.info("user %s away %s to %s, deputy %s", user.name, starts, ends, deputy.name)
    return current


def describe(session: Session, user: User) -> dict | None:
    """``{from, to, deputy, active}`` (``to``: the first moment back), or None when none is
    set or it ended."""
    row = session.get(OutOfOffice, user.id)
    now = utcnow()
    if row is None or row.ends_at <= now:
        return None
    deputy = session.get(User, row.deputy_id)
    return {"from": row.starts_at.isoformat(), "to": row.ends_at.isoformat(),
            "deputy": deputy.name if deputy is not None else None,
            "active": row.starts_at <= now}



@dataclass(frozen=True)
class Absence:
    """An absence as the profile page shows and edits it: the first and last day away (in
    SEALFLOW_TIMEZONE, ISO dates as the form's date inputs take them), the first moment back,
    the deputy, and whether it has begun."""

    first_day: str
    last_day: str
    starts_at: datetime
    ends_at: datetime
    deputy: User | None
    active: bool


def absence_of(session: Session, user: User) -> Absence | None:
    """``user``'s absence (None when none is set or it ended)."""
    row = session.get(OutOfOffice, user.id)
    now = utcnow()
    if row is None or row.ends_at <= now:
        return None
    zone = ZoneInfo(isotime.timezone_name())
    starts, ends = row.starts_at, row.ends_at
    last = (ends - timedelta(microseconds=1)).astimezone(zone).date()
    return Absence(starts.astimezone(zone).date().isoformat(), last.isoformat(), starts, ends,
                   session.get(User, row.deputy_id), starts <= now)

_Deputy = aliased(User)


def with_deputies(users: Select) -> Select:
    """``users`` (a select of users' id, name, active) with, for each user away at the bind
    parameter ``now``, their deputy's ``deputy_id``, ``deputy_name`` and ``deputy_active``
    (NULLs for one who is not away): the inbox reads a task's people and their absences in
    one statement."""
    return (users.add_columns(_Deputy.id.label("deputy_id"), _Deputy.name.label("deputy_name"),
                              _Deputy.active.label("deputy_active"))
            .outerjoin(OutOfOffice, and_(OutOfOffice.user_id == User.id,
                                         OutOfOffice.starts_at <= bindparam("now"),
                                         OutOfOffice.ends_at > bindparam("now")))
            .outerjoin(_Deputy, _Deputy.id == OutOfOffice.deputy_id))


@dataclass(frozen=True)
class Handover:
    """Who works a new task once absences are applied: the assignee (a name, or None), the
    candidate users (rows with id, name, active), and what was recorded (``Task.deputies``)."""

    assignee: str | None
    users: list[Any]
    records: list[dict[str, str]]


def hand_over(assignee: str | None, users: list[Any], *, excluded: set[int],
              requester_id: int) -> Handover:
    """Apply the absences of the task's named people (``users``: the assignee's row, or the
    candidate users' rows, read by a :func:`with_deputies` select): each one away is replaced
    by their deputy, unless the deputy is excluded (``excluded``: the separation of duties;
    the requester always) or inactive; then they stay, and the record says why."""
    away = {u.id: _Row(u.deputy_id, u.deputy_name, u.deputy_active) for u in users
            if u.active and u.deputy_id is not None}
    if not away:
        return Handover(assignee, users, [])
    chosen: list[Any] = []
    records: list[dict[str, str]] = []
    for row in users:
        deputy = away.get(row.id)
        if deputy is None:
            chosen.append(row)
            continue
        why = None
        if deputy.id == requester_id:
            why = f"the deputy {deputy.name} is the request's requester"
        elif deputy.id in excluded:
            why = (f"the deputy {deputy.name} may not work this task (they filed the request "
                   "or worked another instance of this countersign)")
        elif not deputy.active:
            why = f"the deputy {deputy.name} is deactivated"
        if why is not None:
            chosen.append(row)
            records.append({"absent": row.name, "deputy": deputy.name, "kept": why})
            continue
        records.append({"absent": row.name, "deputy": deputy.name})
        chosen.append(_Row(deputy.id, deputy.name, True))
        if assignee == row.name:
            assignee = deputy.name
    out: list[Any] = []
    for row in chosen:  # a deputy who is also named, or the deputy of two: once
        if all(r.id != row.id for r in out):
            out.append(row)
    return Handover(assignee, out, records)


@dataclass(frozen=True)
class _Row:
    """A deputy in the shape of a performer row (id, name, active)."""

    id: int
    name: str
    active: bool
