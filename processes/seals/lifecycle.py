"""A seal's lifecycle: requested → active → suspended ⇄ active → voided | revoked | expired.

Every transition records who, on what authority, when and why. Suspending halts the seal's
requests in flight (they go on when it resumes); voiding, revoking or expiry fails them with
the reason.

Who may make which change directly is processes/seals/authority.py.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from processes import audit, candidates, signals
from processes.db import lock_request, on_commit
from processes.errors import (
    BadInput,
    Message,
    NotAllowed,
    WorkflowStateError,
    msg,
    stored_reason,
)
from processes.flows import engine
from processes.flows.engine import StateUnreadable
from processes.models import (
    GrantStatus,
    ProcessDefinition,
    Request,
    RequestStatus,
    Seal,
    SealCustodian,
    SealStatus,
    SigningGrant,
    TaskStatus,
    User,
    utcnow,
)
from processes.people.directory import Identity
from processes.seal_models import Authority, SealTransition, SealUsage
from processes.seals import authority, policy, registry
from processes.seals import usage_log as usage_log_rows
from processes.task_models import Task

logger = logging.getLogger(__name__)


ALLOWED = {
    SealStatus.requested: {SealStatus.active, SealStatus.voided},
    SealStatus.active: {SealStatus.suspended, SealStatus.voided, SealStatus.revoked,
                        SealStatus.expired},
    SealStatus.suspended: {SealStatus.active, SealStatus.voided, SealStatus.revoked,
                           SealStatus.expired},
}
ENDS = {SealStatus.voided, SealStatus.revoked, SealStatus.expired}
IN_FLIGHT = (RequestStatus.running, RequestStatus.halted, RequestStatus.authorized,
             RequestStatus.incident)


def may_manage(session: Session, identity: Identity | None, seal: Seal) -> bool:
    """Custodians of the seal and seal admins (admins always)."""
    if identity is None:
        return True  # the administrator's command line
    return identity.has_role("seal_admin") or identity.user.id in {u.id for u in seal.custodians}


def managed_seal(session: Session, identity: Identity, seal_id: int, *,
                 auditors: bool = False) -> Seal:
    """Seal ``seal_id``, for a caller who manages seals at all (the custodian of one, a seal
    admin, an admin; with ``auditors``, an auditor too). That is checked before the seal is
    looked up, so that to anyone else an unknown id and a real one answer alike (403). Whether
    the caller manages *this* seal is the service's own check.

    :raises NotAllowed: the caller manages no seal.
    :raises NotFound: there is no such seal.
    """
    if not (identity.has_role("seal_admin", *(("auditor",) if auditors else ()))
            or session.execute(select(SealCustodian.seal_id).where(
                SealCustodian.user_id == identity.user.id).limit(1)).first() is not None):
        raise NotAllowed(msg("only the custodians of a seal and seal administrators manage seals"))
    return registry.get_seal(session, seal_id)


def transition(session: Session, seal: Seal, to: SealStatus, *, reason: str,
               identity: Identity | None = None, request_id: int | None = None,
               system: bool = False) -> Seal:
    """Move a seal to ``to``, recording who, on what authority, when and why, with its effect
    on requests. ``request_id``: made by that authorized lifecycle request; ``system``: by
    Sealflow itself (expiry); neither, with no identity: the administrator's command line."""
    # The seal's status as it stands now, its row held to the commit (PostgreSQL: FOR NO KEY
    # UPDATE, the lock its UPDATE takes; a request's insert referencing it is not held up):
    # two changes of one seal take turns, each checking the status the other left.
    set_committed_value(seal, "status", session.execute(
        select(Seal.status).where(Seal.id == seal.id).with_for_update(key_share=True))
        .scalar_one())
    if not may_manage(session, identity, seal):
        raise NotAllowed(msg("only the seal's custodians and seal administrators manage it"))
    # A person's words (stripped), or Sealflow's sentence around them (a Message, kept whole).
    reason = reason if isinstance(reason, Message) else (reason or "").strip()
    if not reason:
        raise BadInput(msg("say why: a reason is required for every change of a seal"))
    if to not in ALLOWED.get(seal.status, set()):
        raise WorkflowStateError(msg("seal %(seal)s is %(status)s and cannot become %(to)s",
                                     seal=seal.id, status=seal.status.value, to=to.value))
    if to is SealStatus.active and not seal.cert_pem:
        raise WorkflowStateError(msg("seal %(seal)s has no certificate yet: import the one its "
                                     "CA issued, and it becomes active", seal=seal.id))
    power = authority.authority_of(identity, request_id, system)
    refusal = authority.refusal(session, seal, to, power)
    if refusal is not None:
        raise refusal
    actor: User | None = identity.user if identity else None
    previous = seal.status
    seal.status = to
    session.add(SealTransition(seal_id=seal.id, from_status=previous, to_status=to,
                               actor_id=actor.id if actor else None, reason=str(reason),
                               **stored_reason(reason),
                               request_id=request_id, authority=power))
    audit.record(session, f"seal.{to.value}", actor=actor, seal_id=seal.id,
                 previous=previous.value, reason=reason, authority=power.value,
                 emergency=_emergency(power, previous), request=request_id)
    if to == SealStatus.suspended:
        _halt(session, seal, actor)
    elif to == SealStatus.active and previous == SealStatus.suspended:
        _resume(session, seal, actor)
    elif to in ENDS:
        _fail_in_flight(session, seal, actor, msg("seal %(seal)s was %(to)s: %(reason)s",
                                                  seal=seal.id, to=to.value, reason=reason))
    on_commit(session, lambda: signals.seal_changed.send(None, seal_id=seal.id,
                                                         status=to.value))
    logger.info("seal %d: %s -> %s (%s)", seal.id, previous.value, to.value, power.value)
    return seal


def _emergency(authority: Authority, previous: SealStatus | None) -> bool:
    """An administrator's direct change of a seal in use (not its first activation)."""
    return authority is Authority.admin and previous not in (None, SealStatus.requested)


def _requests(session: Session, seal: Seal, statuses, uses_only: bool = False) -> list[int]:
    """The seal's requests in ``statuses``; ``uses_only``: those that would use it (not the
    lifecycle requests that change it)."""
    stmt = select(Request.id).where(Request.seal_id == seal.id, Request.status.in_(statuses))
    if uses_only:
        stmt = stmt.join(ProcessDefinition, ProcessDefinition.id == Request.process_id).where(
            ProcessDefinition.seal_action.is_(None))
    return list(session.execute(stmt).scalars())


def _halt(session: Session, seal: Seal, actor: User | None) -> None:
    # A suspension halts the uses of the seal; its lifecycle requests (resume it, void it...)
    # go on: they are what a suspended seal waits for.
    for rid in _requests(session, seal, (RequestStatus.running, RequestStatus.authorized),
                         uses_only=True):
        req = lock_request(session, rid)
        if req is None or req.status not in (RequestStatus.running, RequestStatus.authorized):
            continue  # sealed (or ended) while we waited for its lock
        req.status = RequestStatus.halted
        req.updated_at = utcnow()
        audit.record(session, "request.halted", actor=actor, request_id=rid, seal_id=seal.id)


def _resume(session: Session, seal: Seal, actor: User | None) -> None:
    for rid in _requests(session, seal, (RequestStatus.halted,)):
        req = lock_request(session, rid)
        if req is None or req.status != RequestStatus.halted:
            continue  # withdrawn while we waited for its lock
        grant = session.execute(select(SigningGrant).where(
            SigningGrant.request_id == rid)).scalar_one_or_none()
        if grant is not None and grant.status == GrantStatus.pending:
            req.status = RequestStatus.authorized
            on_commit(session, functools.partial(signals.grant_created.send, None,
                                                 grant_id=grant.id))
        else:
            req.status = RequestStatus.running
        req.updated_at = utcnow()
        audit.record(session, "request.resumed", actor=actor, request_id=rid, seal_id=seal.id)


def _fail_in_flight(session: Session, seal: Seal, actor: User | None, reason: str) -> None:
    for rid in _requests(session, seal, IN_FLIGHT):
        req = lock_request(session, rid)
        if req is None or req.status not in IN_FLIGHT:
            continue  # sealed (or ended) while we waited for its lock
        grant = session.execute(select(SigningGrant).where(
            SigningGrant.request_id == rid)).scalar_one_or_none()
        if grant is not None and grant.status == GrantStatus.pending:
            grant.status = GrantStatus.failed
            grant.error = reason
            policy.release(session, grant)
        cancelled = list(session.execute(select(Task).where(
            Task.request_id == rid, Task.status == TaskStatus.open)).scalars())
        for task in cancelled:
            task.status = TaskStatus.cancelled
            task.completed_at = utcnow()
        candidates.close(session, [task.id for task in cancelled])
        unreadable = None
        if req.state and req.status in (RequestStatus.running, RequestStatus.halted,
                                        RequestStatus.incident):
            try:
                wf = engine.load(req.process, req.state)
            except StateUnreadable as exc:
                # Its instance cannot be cancelled, but the request fails all the same: one
                # unreadable request must not keep a seal from being voided or revoked.
                unreadable = exc.message
            else:
                if not wf.is_completed():
                    wf.cancel()
                engine.save(req, wf)
        req.status = RequestStatus.failed
        req.fail_with(reason)
        req.timer_due_at = None
        req.updated_at = utcnow()
        audit.record(session, "request.failed", actor=actor, request_id=rid, seal_id=seal.id,
                     reason=reason, **({"state_unreadable": unreadable} if unreadable else {}))
        on_commit(session, functools.partial(signals.request_finished.send, None,
                                             request_id=rid, status="failed"))


def history(session: Session, seal: Seal) -> list[dict]:
    rows = session.execute(select(SealTransition, User.name).outerjoin(
        User, User.id == SealTransition.actor_id).where(SealTransition.seal_id == seal.id)
        .order_by(SealTransition.id)).all()
    return [{"from": t.from_status.value if t.from_status else None, "to": t.to_status.value,
             "by": by, "authority": t.authority.value,
             "emergency": _emergency(t.authority, t.from_status), "reason": t.why,
             "at": t.at.isoformat(), "request": t.request_id}
            for t, by in rows]


def usage_log(session: Session, identity: Identity, seal: Seal, *, limit: int = 50,
              offset: int = 0, filters: usage_log_rows.Filters | None = None) -> dict:
    """The seal's usage log (processes/seals/usage_log.py: each sealing with its approvers and
    hashes), plus the counters and the seal's lifecycle. Custodians, seal admins, auditors and
    admins only."""
    if not (may_manage(session, identity, seal) or identity.has_role("auditor")):
        raise NotAllowed(msg("the usage log of a seal is for its custodians, seal admins and "
                             "auditors"))
    filters = dataclasses.replace(filters or usage_log_rows.Filters(), seal=seal.id)
    counters = {period: used for period, used in session.execute(
        select(SealUsage.period, SealUsage.used).where(SealUsage.seal_id == seal.id))}
    return {
        "seal": seal.id,
        "status": seal.status.value,
        "uses": usage_log_rows.entries(session, identity, filters, limit=limit, offset=offset),
        "counters": counters,
        "policy": policy.describe(policy.get(session, seal.id)),
        "lifecycle": history(session, seal),
    }


def seal_view(session: Session, identity: Identity, seal: Seal) -> dict:
    """What the seal page shows: to everyone its status and certificate; to its custodians,
    seal admins and auditors also its policy, counters and lifecycle; to custodians, seal
    admins and admins the transitions they may make directly now (``transitions``), and for
    the others the lifecycle flow to start, or why only an administrator may (``via_flows``)."""
    from signer import certificate_from_pem
    cert = certificate_from_pem(seal.cert_pem) if seal.cert_pem else None  # external CA: later
    manager = may_manage(session, identity, seal)
    possible = [s for s in (SealStatus.suspended, SealStatus.active, SealStatus.voided,
                            SealStatus.revoked)
                if manager and s in ALLOWED.get(seal.status, set())
                and (s is not SealStatus.active or seal.cert_pem)]
    power = authority.authority_of(identity)
    direct = [s for s in possible if authority.refusal(session, seal, s, power) is None]
    view: dict[str, Any] = {
        "seal": seal, "not_before": cert.not_valid_before_utc if cert else None,
        "not_after": cert.not_valid_after_utc if cert else None, "may_manage": manager,
        "awaits_certificate": seal.status is SealStatus.requested and bool(seal.csr_pem),
        "transitions": [s.value for s in direct],
        "as_admin": power is Authority.admin,
        "via_flows": [authority.via_flow(session, seal, s) for s in possible if s not in direct]}
    if manager or identity.has_role("auditor"):
        view["usage"] = usage_log(session, identity, seal, limit=20)
    return view
