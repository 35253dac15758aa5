"""Making the change an authorized lifecycle request asks for (make, change, resume, void or
revoke a seal), once, after checking again that someone other than its requester approved it."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit, signals
from processes.db import lock_request, on_commit
from processes.errors import (
    BadInput,
    NotAllowed,
    SealflowError,
    WorkflowStateError,
    msg,
    stored_reason,
)
from processes.models import (
    ProcessDefinition,
    Request,
    RequestStatus,
    SealStatus,
    utcnow,
)
from processes.people.directory import names_in, users_named
from processes.seal_models import Authority, SealTransition
from processes.seals import approvals, registry
from processes.seals.lifecycle import transition

logger = logging.getLogger(__name__)


def pending_changes(session: Session) -> list[int]:
    """Authorized lifecycle requests whose change is not made yet (the job was lost)."""
    return list(session.execute(select(Request.id).join(
        ProcessDefinition, ProcessDefinition.id == Request.process_id).where(
        Request.status == RequestStatus.authorized,
        ProcessDefinition.seal_action.is_not(None))).scalars())


#: What a 印章变更 request changed, as its lifecycle step names it (a value of its reason).
CHANGE_NAMES = {"appearance": msg("new appearance"), "renew": msg("certificate renewed"),
                "custodians": msg("custodians changed")}


def _change(session: Session, env, req: Request) -> None:
    seal, data, actor = req.seal, req.data, req.requester
    if seal is None:
        raise WorkflowStateError(msg("request %(request)s names no seal to change",
                                     request=req.id))
    if seal.status not in (SealStatus.active, SealStatus.suspended):
        raise NotAllowed(msg("seal %(seal)s is %(status)s: it can no longer be changed",
                             seal=seal.id, status=seal.status.value))
    change = str(data.get("change") or "custodians")  # what the last branch does
    if change == "appearance":
        registry.change_appearance(session, env, seal, serial=data.get("serial") or None,
                                actor=actor)
    elif change == "renew":
        registry.renew_certificate(session, env, seal, actor=actor)
    else:
        names = names_in(data.get("custodians"))
        users = users_named(session, data.get("custodians"))
        if len(users) != len(set(names)):
            raise BadInput(msg("not every new custodian exists: %(names)s",
                               names=', '.join(names)))
        registry.change_custodians(session, seal, users, actor=actor)
    # In the seal's lifecycle history too, as a step that keeps its status; the requester's
    # words a value (never translated), the rest in the reader's language.
    why = (msg("request #%(request)s: %(change)s: %(reason)s", request=req.id,
               change=CHANGE_NAMES[change], reason=data["reason"]) if data.get("reason")
           else msg("request #%(request)s: %(change)s", request=req.id,
                    change=CHANGE_NAMES[change]))
    session.add(SealTransition(seal_id=seal.id, from_status=seal.status, to_status=seal.status,
                               actor_id=actor.id, request_id=req.id, authority=Authority.flow,
                               reason=str(why), **stored_reason(why)))
    audit.record(session, "seal.changed", actor=actor, seal_id=seal.id, change=change,
                 request_id=req.id, reason=data.get("reason"))


def apply_request(session: Session, env, request_id: int) -> bool:
    """Make the change an authorized lifecycle request asks for, once (under its row lock):
    make the seal, change it, resume, void or revoke it. The request then is ``completed`` (or
    ``failed`` with the reason, say when the seal was revoked meanwhile, or when the suspension
    to lift was an administrator's, which no flow lifts)."""
    req = lock_request(session, request_id)
    if req is None or req.status != RequestStatus.authorized or not req.process.seal_action:
        return False
    action, data = req.process.seal_action, req.data
    try:
        # Again here, where the change is made: no change without someone else's approval.
        refused = approvals.missing(approvals.given(session, req), lifecycle=True)
        if refused:
            raise NotAllowed(refused)
        if action == "make":
            seal = registry.create_seal(session, env, data["seal_name"],
                                     seal_type=data["new_seal_type"],
                                     custodians=users_named(session, data.get("custodians")),
                                     actor=req.requester,
                                     key_type=data.get("key_type") or "rsa2048",
                                     external_ca=data.get("ca") == "external")
            why = msg("request #%(request)s to make the seal: %(reason)s", request=req.id,
                      reason=data.get("reason") or data["seal_name"])
            session.add(SealTransition(seal_id=seal.id, from_status=None,
                                       to_status=seal.status, actor_id=req.requester_id,
                                       reason=str(why), **stored_reason(why),
                                       request_id=req.id, authority=Authority.flow))
            req.seal_id = seal.id
        elif action == "change":
            _change(session, env, req)
        else:
            target = req.seal
            if target is None:
                raise WorkflowStateError(msg("request %(request)s names no seal to %(action)s",
                                             request=req.id, action=action))
            if action == "resume" and target.status is not SealStatus.suspended:
                raise WorkflowStateError(msg("seal %(target)s is %(status)s, not suspended: "
                                             "there is nothing to resume", target=target.id,
                                             status=target.status.value))
            to = {"resume": SealStatus.active, "void": SealStatus.voided,
                  "revoke": SealStatus.revoked}[action]
            transition(session, target, to, request_id=req.id,
                       reason=msg("request #%(request)s: %(reason)s", request=req.id,
                                  reason=data["reason"]) if data.get("reason")
                       else msg("request #%(request)s, with no reason given", request=req.id))
    except SealflowError as exc:
        req.status = RequestStatus.failed
        req.fail_with(exc.message)
        audit.record(session, "request.failed", request_id=req.id, seal_id=req.seal_id,
                     reason=exc.message)
        return False
    req.status = RequestStatus.completed
    req.updated_at = utcnow()
    audit.record(session, "request.completed", request_id=req.id, seal_id=req.seal_id,
                 seal_action=action)
    on_commit(session, lambda: signals.request_finished.send(
        None, request_id=req.id, status="completed"))
    return True
