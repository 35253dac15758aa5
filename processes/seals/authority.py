"""Who may change a seal's status directly, and on whose authority a change is made.

Protective actions are quick: a custodian or seal admin suspends a seal at once. Lifting
protection or an irreversible change (resume, void, revoke) goes through the lifecycle flows,
or an administrator in an emergency (the command line counts as one). A suspension an
administrator made is lifted only by an administrator: not by a custodian, and not by a resume
flow, whoever approved it. The authority of each change is recorded with it
(``SealTransition.authority``), so a later change of someone's roles does not change it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.errors import NotAllowed, msg
from processes.models import BusinessType, ProcessDefinition, Role, Seal, SealStatus
from processes.people.directory import Identity
from processes.seal_models import Authority, SealTransition

# The lifecycle flow (``seal_action``) that makes a change a custodian may not make directly.
FLOW_OF = {SealStatus.active: "resume", SealStatus.voided: "void", SealStatus.revoked: "revoke"}
FLOW_NAMES = {"resume": "印章启用 seal_resume", "void": "印章作废 seal_void",
              "revoke": "证书吊销 seal_revoke"}


def authority_of(identity: Identity | None, request_id: int | None = None,
                 system: bool = False) -> Authority:
    """On whose authority a change is made: no identity is the administrator's command line."""
    if system:
        return Authority.system
    if request_id is not None:
        return Authority.flow
    if identity is None or Role.admin.value in identity.user.role_names:
        return Authority.admin
    return Authority.manager


def current_suspension(session: Session, seal: Seal) -> SealTransition | None:
    """The step that suspended the seal, while it is suspended."""
    if seal.status is not SealStatus.suspended:
        return None
    return session.execute(select(SealTransition).where(
        SealTransition.seal_id == seal.id, SealTransition.to_status == SealStatus.suspended)
        .order_by(SealTransition.id.desc()).limit(1)).scalar_one_or_none()


def refusal(session: Session, seal: Seal, to: SealStatus,
            authority: Authority) -> NotAllowed | None:
    """Why a change on this authority is not allowed (None: it is)."""
    if authority in (Authority.admin, Authority.system):
        return None
    if to is SealStatus.active and seal.status is SealStatus.suspended:
        held = current_suspension(session, seal)
        if held is not None and held.authority is Authority.admin:
            return NotAllowed(msg("seal %(seal)s was suspended by an administrator (%(reason)s): "
                                  "only an administrator can resume it", seal=seal.id,
                                  reason=held.why))
    protective = to is SealStatus.suspended or (
        to is SealStatus.active and seal.status is SealStatus.requested)  # its certificate came
    if authority is Authority.manager and not protective:
        action = FLOW_OF.get(to)
        if action is None:
            return NotAllowed(msg("only an administrator can make seal %(seal)s %(to)s",
                                  seal=seal.id, to=to.value))
        return NotAllowed(msg("to %(action)s seal %(seal)s, start its lifecycle flow "
                              "(%(flow_names)s) for approval, or ask an administrator in an "
                              "emergency", action=action, seal=seal.id,
                              flow_names=FLOW_NAMES[action]))
    return None


def via_flow(session: Session, seal: Seal, to: SealStatus) -> dict:
    """The lifecycle flow to start for a change not made directly: ``process`` is its key and
    ``start`` the new-request page's arguments when one is deployed and may make the change;
    otherwise ``hint`` says why not."""
    action = FLOW_OF.get(to)
    view: dict[str, Any] = {"to": to.value, "action": action, "process": None, "start": None,
                            "hint": None}
    refused = refusal(session, seal, to, Authority.flow)
    if refused is not None:
        view["hint"] = refused.message
        return view
    found = flow_start(session, action)
    if found is None:
        view["hint"] = "no lifecycle flow for this is deployed: ask an administrator"
        return view
    view["process"], view["start"] = found
    return view


def flow_start(session: Session, action: str | None) -> tuple[str, dict[str, str]] | None:
    """The deployed lifecycle flow for ``action`` (make, change, resume...): its key, and how
    a new request starts it: its ``business_type`` when one maps to the flow (the new-request
    page offers the business types when there are any), else its ``process``. None when none
    is deployed (or only retired versions)."""
    key = session.execute(select(ProcessDefinition.key).where(
        ProcessDefinition.seal_action == action, ProcessDefinition.retired_at.is_(None))
        .order_by(ProcessDefinition.id.desc()).limit(1)).scalar_one_or_none()
    if key is None:
        return None
    business_type = session.execute(select(BusinessType.key).where(
        BusinessType.process_key == key).order_by(BusinessType.id).limit(1)).scalar_one_or_none()
    return key, {"business_type": business_type} if business_type else {"process": key}
