"""Who may see a request: its requester, anyone who has or had a task on it (completed, claimed,
a candidate directly or through a group), anyone a task action names (copied 抄送, delegated to,
added, and whoever delegated or added), its seal's custodians; auditors and admins see all.

One rule in three shapes: :func:`can_see` for one request, :func:`sees_clause` as SQL tested on
a listing's rows, :func:`seen_statements` and :func:`seen` as the set of a listing's rows (the
archive's search), each built from the same conditions on one table each."""

from __future__ import annotations

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    bindparam,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from processes.models import Membership, Request, SealCustodian
from processes.people.directory import Identity
from processes.task_action_models import TaskAction
from processes.task_models import Task, TaskCandidate


def names_candidate(user_id, groups=None):
    """The ways ``TaskCandidate`` names the user: directly, through a group (``groups``: the
    user's, when read already)."""
    if groups is None:
        groups = select(Membership.group_id).where(Membership.user_id == user_id)
    return TaskCandidate.user_id == user_id, TaskCandidate.group_id.in_(groups)


def candidate_clause(user_id, *, row_by_row: bool = False):
    """True when the user is a candidate of ``Task`` (directly or through a group);
    ``row_by_row``: see :func:`involved_clause`."""
    candidacy = select(TaskCandidate.id).where(TaskCandidate.task_id == Task.id,
                                               or_(*names_candidate(user_id)))
    return (candidacy.offset(0) if row_by_row else candidacy).exists()


# The ways of being involved in a request, each a condition on one table: the clause below
# tests them on one request, ``seen_statements`` finds the rows of each (one rule, two shapes).

def _custodian_of(user_id):
    """The seals the user keeps."""
    return select(SealCustodian.seal_id).where(SealCustodian.user_id == user_id)


def _worked(user_id):
    """The ways the user worked ``Task``: completed it, holds (or held) its claim."""
    return Task.completed_by_id == user_id, Task.claimed_by_id == user_id


def _named(user_id):
    """The ways ``TaskAction`` names the user: copied (抄送), added, delegated to; as whoever
    delegated or added."""
    return TaskAction.user_id == user_id, TaskAction.actor_id == user_id


def involved_clause(user_id, request_id, seal_id, *, row_by_row: bool = False):
    """True when the user is the seal's custodian, has or had a task on the request, was
    copied on it (抄送, read-only), or is named by another action on its tasks (a delegate, an
    added approver, whoever delegated or added them).

    ``row_by_row``: for a listing whose rows are tested until its page is full (the
    archive's walk of a busy custodian's or approver's documents): each test stays a lookup
    of its row (``OFFSET 0``: PostgreSQL would otherwise hash every task of the user first,
    reading them all, 60-130 ms, for a page that tests a few hundred rows)."""
    def test(stmt):
        return (stmt.offset(0) if row_by_row else stmt).exists()

    custodian = test(_custodian_of(user_id).where(SealCustodian.seal_id == seal_id))
    named = test(select(TaskAction.id).where(TaskAction.request_id == request_id,
                                             or_(*_named(user_id))).correlate_except(TaskAction))
    # Any task of the request: never correlated with a task of an enclosing statement (the
    # request is, when request_id is its column).
    had_task = test(select(Task.id).where(Task.request_id == request_id, or_(
        *_worked(user_id), candidate_clause(user_id, row_by_row=row_by_row))
    ).correlate_except(Task))
    return or_(custodian, had_task, named)


def sees_clause(user_id: int, request_id, requester_id, seal_id) -> ColumnElement[bool]:
    """:func:`can_see` without the roles, as SQL over a listing's columns (the archive's): the
    requester, or someone involved in the request (its seal's custodian, a task, a copy);
    tested row by row (:func:`involved_clause`)."""
    return or_(requester_id == user_id,
               involved_clause(user_id, request_id, seal_id, row_by_row=True))


def seen_statements(row_id, request_id, requester_id, seal_id) -> tuple[Select, Select]:
    """For :func:`seen` on a listing (the archive's: its columns given), built once (building
    and keying them cost more than running them): a count of what the ways of seeing find,
    from their indexes alone (the requests of the user's tasks and copies, not the listing's
    rows: a busy approver then costs a look at ``most`` index entries, not 40 ms on
    PostgreSQL to read 3,000 rows), and the listing's rows the user sees. One way each, each
    limited on its own: the planner then reads it by its index, row by row ("a OR b" joined
    made SQLite scan every task; the union limited as a whole, PostgreSQL hashed the archive).

    The user, their groups and the limit are written into the statements when run, not bound,
    so that PostgreSQL never runs a plan made for anyone (a prepared statement's generic plan
    walked every task for a user who had none: 65 ms against 0.4), and reads the candidates of
    each group by index (by a subquery of the groups, it merged the whole index)."""
    user = bindparam("seen_user", type_=Integer, literal_execute=True)
    groups = bindparam("seen_groups", type_=Integer, expanding=True, literal_execute=True)
    most = bindparam("seen_most", type_=Integer, literal_execute=True)

    def ways(listed, task, candidate, action) -> CompoundSelect:
        return union_all(*(select(*stmt.limit(most).subquery().c) for stmt in (
            listed.where(requester_id == user),
            listed.where(seal_id.in_(_custodian_of(user))),
            *(task.where(way) for way in _worked(user)),
            *(candidate.where(way) for way in names_candidate(user, groups)),
            *(action.where(way) for way in _named(user)))))

    one = literal(1, Integer)
    counted = ways(select(row_id), select(one).select_from(Task),
                   select(one).select_from(TaskCandidate), select(one).select_from(TaskAction))
    task = select(row_id).join(Task, Task.request_id == request_id)
    rows = ways(select(row_id), task, task.join(TaskCandidate, TaskCandidate.task_id == Task.id),
                select(row_id).join(TaskAction, TaskAction.request_id == request_id))
    return select(func.count()).select_from(counted.subquery()), select(rows.subquery())


def seen(session: Session, statements: tuple[Select, Select], user_id: int, *,
         most: int) -> list[int] | None:
    """:func:`sees_clause` as a set: the ids of the listing's rows the user may see, newest
    (highest) first, when at most ``most``, else None (``statements``: the listing's,
    :func:`seen_statements`), so that a caller chooses how to search them. Counted first: a
    request counts once per way it is seen by, and one not in the listing counts too."""
    count, rows = statements
    params = {"seen_user": user_id, "seen_most": most + 1,
              "seen_groups": list(session.execute(_MY_GROUPS, {"uid": user_id}).scalars())}
    if session.execute(count, params).scalar_one() > most:
        return None
    return sorted(set(session.execute(rows, params).scalars()), reverse=True)


# Built once: building and keying a statement costs several times more than running it.
_UID: BindParameter[int] = bindparam("uid")
_INVOLVED = select(involved_clause(_UID, bindparam("rid"), bindparam("sid")))
_MY_GROUPS = select(Membership.group_id).where(Membership.user_id == _UID)


def can_see(session: Session, identity: Identity, req: Request) -> bool:
    """Requester, anyone who has or had a task on it or was copied on it, its seal's
    custodians, auditors, admins."""
    user = identity.user
    if req.requester_id == user.id:
        return True
    if session.execute(_INVOLVED, {"uid": user.id, "rid": req.id, "sid": req.seal_id}).scalar():
        return True
    return identity.has_role("auditor")
