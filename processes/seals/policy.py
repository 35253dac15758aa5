"""A seal's usage policy: checked when a request is made, a use reserved atomically when it is
authorized, and everything checked again at sealing time. Every refusal names its rule."""

from __future__ import annotations

import logging
from datetime import datetime
from types import EllipsisType
from typing import Any, cast

from sqlalchemy import Integer, Table, and_, bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from processes import audit
from processes.errors import BadInput, Message, PolicyRefused, msg
from processes.isotime import timezone_name
from processes.models import (
    Group,
    Membership,
    ProcessDefinition,
    Seal,
    SigningGrant,
    User,
    utcnow,
)
from processes.seal_models import SealPolicy, SealUsage
from processes.seals import approvals, flow_proofs, proof, refusals

logger = logging.getLogger(__name__)

FIELDS = ("business_types", "groups", "users", "valid_from", "valid_to", "max_uses",
          "max_per_month", "max_pages", "max_bytes", "min_approvals", "demands",
          "distinct_demands")


def get(session: Session, seal_id: int) -> SealPolicy | None:
    return session.get(SealPolicy, seal_id)


def describe(policy: SealPolicy | None) -> dict:
    if policy is None:
        return {}
    out = {}
    for name in FIELDS:
        value = getattr(policy, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _month(now: datetime) -> str:
    from zoneinfo import ZoneInfo
    return now.astimezone(ZoneInfo(timezone_name())).strftime("%Y-%m")


def set_policy(session: Session, seal: Seal, *, actor: User | None, **changes: Any) -> dict:
    """Change a seal's policy; returns it with the verdict of the proof for each allowed flow
    (a flow that fails cannot be used with this seal)."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise BadInput(msg("unknown policy field(s): %(unknown)s",
                           unknown=', '.join(sorted(unknown))))
    if "demands" in changes:
        try:
            changes["demands"] = [d.as_dict() for d in proof.parse_demands(changes["demands"])]
        except ValueError as exc:
            raise BadInput(exc.args[0]) from None  # a message (proof.parse_demands)
    for name in ("max_uses", "max_per_month", "max_pages", "max_bytes", "min_approvals"):
        value = changes.get(name)
        if value is not None and (not isinstance(value, int) or value < 0):
            raise BadInput(msg("%(name)s must be a whole number of at least 0", name=name))
    if "distinct_demands" in changes and not isinstance(changes["distinct_demands"], bool):
        raise BadInput(msg("distinct_demands must be true or false"))
    # The seal's row held to the commit (as a change of the seal holds it; a request being
    # filed holds it in share mode): two changes of one policy take turns, the second
    # changing the policy as the first left it (or made it).
    session.execute(select(Seal.id).where(Seal.id == seal.id).with_for_update(key_share=True))
    policy = session.get(SealPolicy, seal.id, populate_existing=True) or SealPolicy(
        seal_id=seal.id, business_types=[], groups=[], users=[], demands=[],
        distinct_demands=True)
    for name, value in changes.items():
        setattr(policy, name, value)
    if policy.valid_from and policy.valid_to and policy.valid_from >= policy.valid_to:
        raise BadInput(msg("valid_from must be before valid_to"))
    policy.updated_at = utcnow()
    session.add(policy)
    session.flush()
    verdicts = [{"process": d.key, "version": d.version,
                 **flow_proofs.verdict(session, seal, policy, d)}
                for d in flow_proofs.allowed_definitions(session, policy)]
    audit.record(session, "seal.policy_changed", actor=actor, seal_id=seal.id,
                 policy=describe(policy),
                 refused_flows=[f"{v['process']} v{v['version']}" for v in verdicts
                                if not v["ok"]])
    return {"policy": describe(policy), "flows": verdicts}


_LOOK_UP: Any = object()  # the policy not given: the callee reads it


class Refusal(Message):
    """A reason the policy refuses a use (the sentence, translatable as a ``Message`` when it
    was written as one), naming the rule (``min_approvals``, ``demands``, ``valid_from``...):
    the refusal is recorded with it (processes/seals/refusals.py)."""

    rule: str

    def __new__(cls, rule: str, text: str) -> Refusal:
        refusal = cast(Refusal, super().__new__(cls, getattr(text, "key", text),
                                                getattr(text, "params", None)))
        refusal.rule = rule
        return refusal


def check_use(session: Session, seal: Seal, requester: User, business_type: str | None,
              definition: ProcessDefinition, *, pages: int, size: int,
              now: datetime | None = None, policy: SealPolicy | None = _LOOK_UP,
              groups: set[str] | None = None) -> None:
    """At request creation: raise PolicyRefused naming the first rule this use breaks.
    ``policy``: the seal's, when the caller read it already (None: it has none); ``groups``:
    the requester's groups' keys, likewise (a list of seals checked for one requester)."""
    if policy is _LOOK_UP:
        policy = session.get(SealPolicy, seal.id)
    if policy is None:
        return
    now = now or utcnow()
    _check_window(policy, now)
    if policy.business_types:
        # The request's type comes from the mapping (filing_reads.definition_for): none when
        # no type, or several, map to its flow; then the seal's rule cannot be met.
        if business_type is None:
            raise _refuse("business_types", msg(
                "seal %(seal)s may be used only for business types %(types)s: name the "
                "request's business type (its flow has no single one)",
                seal=seal.id, types=", ".join(policy.business_types)))
        if business_type not in policy.business_types:
            raise _refuse("business_types", msg(
                "seal %(seal)s may be used only for business types %(types)s",
                seal=seal.id, types=", ".join(policy.business_types)))
    if policy.users or policy.groups:
        mine = groups if groups is not None else group_keys(session, requester)
        if requester.name not in (policy.users or []) and not mine & set(policy.groups or []):
            if policy.groups and policy.users:
                raise _refuse("groups", msg(
                    "seal %(seal)s may be used only by departments %(groups)s; users %(users)s",
                    seal=seal.id, groups=", ".join(policy.groups), users=", ".join(policy.users)))
            if policy.groups:
                raise _refuse("groups", msg("seal %(seal)s may be used only by departments "
                                            "%(groups)s", seal=seal.id,
                                            groups=", ".join(policy.groups)))
            raise _refuse("groups", msg("seal %(seal)s may be used only by users %(users)s",
                                        seal=seal.id, users=", ".join(policy.users or [])))
    if policy.max_pages is not None and pages > policy.max_pages:
        raise _refuse("max_pages", msg("the document has %(pages)s pages; seal %(seal)s allows "
                                       "at most %(most)s", pages=pages, seal=seal.id,
                                       most=policy.max_pages))
    if policy.max_bytes is not None and size > policy.max_bytes:
        raise _refuse("max_bytes", msg("the document is %(size)s bytes; seal %(seal)s allows "
                                       "at most %(most)s", size=size, seal=seal.id,
                                       most=policy.max_bytes))
    _check_quota(session, seal, policy, now)
    if policy.demands:
        verdict = flow_proofs.verdict(session, seal, policy, definition)
        if not verdict["ok"]:
            raise _refuse("demands", msg("flow %(key)s v%(version)s cannot be used with seal "
                                         "%(seal)s: %(reason)s", key=definition.key,
                                         version=definition.version, seal=seal.id,
                                         reason=verdict["message"]))


def group_keys(session: Session, user: User) -> set[str]:
    """The keys of the groups ``user`` belongs to."""
    return set(session.execute(select(Group.key).join(
        Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user.id)).scalars())


def _refuse(rule: str, message: str) -> PolicyRefused:
    return PolicyRefused(msg("the seal's policy refuses this use (%(rule)s): %(reason)s",
                             rule=rule, reason=message),
                         [{"field": "seal", "rule": rule, "message": message}])


def _check_window(policy: SealPolicy, now: datetime) -> None:
    if policy.valid_from and now < policy.valid_from:
        raise _refuse("valid_from", msg("the seal may be used from %(start)s",
                                        start=policy.valid_from.isoformat()))
    if policy.valid_to and now > policy.valid_to:
        raise _refuse("valid_to", msg("the seal could be used until %(end)s",
                                      end=policy.valid_to.isoformat()))


def _used(session: Session, seal_id: int, period: str) -> int:
    return session.execute(select(SealUsage.used).where(
        SealUsage.seal_id == seal_id, SealUsage.period == period)).scalar() or 0


def _check_quota(session: Session, seal: Seal, policy: SealPolicy, now: datetime) -> None:
    if policy.max_uses is not None and _used(session, seal.id, "total") >= policy.max_uses:
        raise _refuse("max_uses", msg("seal %(seal)s has been used %(most)s times, its limit",
                                      seal=seal.id, most=policy.max_uses))
    if policy.max_per_month is not None and \
            _used(session, seal.id, _month(now)) >= policy.max_per_month:
        raise _refuse("max_per_month", msg("seal %(seal)s has been used %(most)s times this "
                                           "month, its monthly limit", seal=seal.id,
                                           most=policy.max_per_month))


def reserve(session: Session, seal: Seal, grant: SigningGrant,
            now: datetime | None = None) -> None:
    """Reserve one use of ``seal`` in each counted period for ``grant`` (``take_uses``)."""
    grant.reserved = take_uses(session, seal.id, now)


def _take_both(dialect: str):
    """One statement reserving a use in both periods (total, then the month: the rows' locks in
    that order, always): each period's row made with its first use, or its count raised while
    under its limit (NULL: none); RETURNING the periods taken."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = cast(Table, SealUsage.__table__)
    sid = bindparam("sid", type_=Integer)
    upsert = insert(table).values([{"seal_id": sid, "period": "total", "used": 1},
                                   {"seal_id": sid, "period": bindparam("month"), "used": 1}])

    def under(limit: str) -> Any:
        cap = bindparam(limit, type_=Integer)
        return or_(cap.is_(None), SealUsage.used < cap)

    return upsert.on_conflict_do_update(
        index_elements=["seal_id", "period"], set_={"used": SealUsage.used + 1},
        where=or_(and_(SealUsage.period == "total", under("total_limit")),
                  and_(SealUsage.period != "total", under("month_limit")))
    ).returning(SealUsage.period)


_TAKE_BOTH = {name: _take_both(name) for name in ("postgresql", "sqlite")}


def take_uses(session: Session, seal_id: int, now: datetime | None = None, *,
              policy: SealPolicy | None = _LOOK_UP) -> list[str]:
    """Reserve one use in each counted period, atomically (one conditional upsert for both:
    see :func:`_take_both`); the periods taken. Raise PolicyRefused when a quota is exhausted
    (nothing stays reserved then). ``policy``: the seal's, when the caller read it already
    (None: it has none)."""
    if policy is _LOOK_UP:
        policy = session.get(SealPolicy, seal_id)
    now = now or utcnow()
    month = _month(now)
    limits = {"total": policy.max_uses if policy else None,
              month: policy.max_per_month if policy else None}
    taken: set[str] = set()
    if 0 not in limits.values():  # a limit of 0: not even a period's first use
        taken = set(session.connection().execute(_TAKE_BOTH[session.get_bind().dialect.name], {
            "sid": seal_id, "month": month, "total_limit": limits["total"],
            "month_limit": limits[month]}).scalars())
    for period, limit in limits.items():  # the total's refusal first, as it is checked first
        if period not in taken:
            _release_periods(session, seal_id, sorted(taken))
            left = (msg("seal %(seal_id)s has no uses left in total (limit %(limit)s)",
                        seal_id=seal_id, limit=limit) if period == "total" else
                    msg("seal %(seal_id)s has no uses left this month (limit %(limit)s)",
                        seal_id=seal_id, limit=limit))
            raise _refuse("max_uses" if period == "total" else "max_per_month", left)
    return list(limits)


def release(session: Session, grant: SigningGrant) -> None:
    """Give back the uses a grant reserved (its sealing failed)."""
    if grant.reserved:
        _release_periods(session, grant.seal_id, list(grant.reserved))
        grant.reserved = None


def _release_periods(session: Session, seal_id: int, periods: list[str]) -> None:
    for period in periods:
        session.execute(update(SealUsage).where(
            SealUsage.seal_id == seal_id, SealUsage.period == period, SealUsage.used > 0)
            .values(used=SealUsage.used - 1).execution_options(synchronize_session=False))


def check_at_sealing(session: Session, seal: Seal, grant: SigningGrant, requester_id: int,
                     now: datetime | None = None,
                     seal_policy: SealPolicy | None | EllipsisType = ...) -> str | None:
    """The re-check before signing: the window, and the approvals among the grant's actual
    approvers (as the organisation stands now). Returns the reason to refuse, or None.
    ``seal_policy``: the seal's policy (None: it has none) when the caller read it already."""
    reason = approvals.missing(grant.approvals, lifecycle=False)
    if reason:
        return reason  # a grant written before the rule held
    policy = session.get(SealPolicy, seal.id) if seal_policy is ... else seal_policy
    if policy is None:
        return None
    try:
        _check_window(policy, now or utcnow())
    except PolicyRefused as exc:
        return Refusal(refusals.rule_of(exc), exc.message)
    return approvals_refused(session, seal.id, grant.approvals, requester_id, policy)


def approvals_refused(session: Session, seal_id: int, given: list[dict], requester_id: int,
                      policy: SealPolicy | None = None) -> Refusal | None:
    """What the seal's policy demands of the approvals ``given`` (``min_approvals`` distinct
    approvers; each demanded approval, by distinct people unless ``distinct_demands`` is off),
    as the organisation stands now. The reason to refuse, or None."""
    policy = policy or session.get(SealPolicy, seal_id)
    if policy is None:
        return None
    names = approvals.approvers(given)
    if policy.min_approvals and len(names) < policy.min_approvals:
        return Refusal("min_approvals", msg(
            "the seal's policy demands %(demanded)s approvals by different people; this use "
            "has %(given)s", demanded=policy.min_approvals, given=len(names)))
    demands = proof.parse_demands(policy.demands)
    if not demands:
        return None
    seal = session.get(Seal, seal_id)  # its custodians: only for demands
    assert seal is not None
    people = proof.People.load(session, seal)
    heads = set(session.execute(select(User.name).join(Group, Group.head_id == User.id).join(
        Membership, Membership.group_id == Group.id).where(
        Membership.user_id == requester_id)).scalars())
    meeting = []
    for demand in demands:
        if demand.kind == "custodian":
            meeting.append(names & people.custodians)
        elif demand.kind == "requester_head":
            meeting.append(names & heads)
        elif demand.kind == "group":
            meeting.append(names & people.group_members.get(demand.key, frozenset()))
        else:
            meeting.append(names & {demand.ref})
    distinct = policy.distinct_demands
    unmet = approvals.first_unmet(meeting, distinct=distinct)
    if unmet is None:
        return None
    demand = demands[unmet]
    if meeting[unmet] and distinct:
        return Refusal("demands", msg(
            "no approval by %(demand)s from someone who does not already count for another "
            "demanded approval (approvers: %(approvers)s)", demand=demand.describe(),
            approvers=", ".join(sorted(names))))
    if not names:
        return Refusal("demands", msg("no approval by %(demand)s among nobody",
                                      demand=demand.describe()))
    return Refusal("demands", msg("no approval by %(demand)s among %(approvers)s",
                                  demand=demand.describe(), approvers=", ".join(sorted(names))))
