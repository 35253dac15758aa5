"""Seal administration from the pages, with the command line's checks (app/cli_seals.py calls
the same registry and policy functions): who may edit a policy, change a seal or make one
directly, and the typed name that confirms an irreversible change.

In normal operation a seal is made (制章申请) and changed (印章变更) through its lifecycle
flows; an administrator may do either directly (the bootstrap and emergency path), saying why,
and that is recorded in the seal's history and the audit log.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit
from processes.env import Env
from processes.errors import BadInput, NotAllowed, msg, stored_reason
from processes.models import (
    Seal,
    SealCustodian,
    SealStatus,
    User,
)
from processes.people.directory import Identity, names_in
from processes.seal_models import Authority, SealTransition
from processes.seals import authority, flow_proofs, lifecycle, policy, registry

logger = logging.getLogger(__name__)

IRREVERSIBLE = (SealStatus.voided, SealStatus.revoked)
# What an administrator changes directly, as the seal's history names it (as the 印章变更
# flow's changes are named there).
CHANGES = ("custodians", "appearance")


def manages_seals(session: Session, identity: Identity) -> bool:
    """Seal admins, admins and the custodians of any seal: who starts lifecycle flows."""
    return identity.has_role("seal_admin") or session.execute(
        select(SealCustodian.seal_id).where(SealCustodian.user_id == identity.user.id)
        .limit(1)).first() is not None


def require_seal_admin(identity: Identity) -> None:
    if not identity.has_role("seal_admin"):
        raise NotAllowed(msg("only seal administrators set a seal's usage policy"))


def require_admin(identity: Identity) -> None:
    if not identity.has_role("admin"):
        raise NotAllowed(msg("only administrators change or make a seal directly; start its "
                             "lifecycle flow instead"))


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise BadInput(msg("say why: a reason is required for every change of a seal"),
                       [{"field": "reason", "message": msg("required")}])
    return reason


def set_policy(session: Session, identity: Identity, seal: Seal,
               changes: dict[str, Any]) -> dict:
    """A seal admin sets the seal's policy (audited by :func:`policy.set_policy`, which proves
    every allowed flow against its demands): the policy and each flow's verdict."""
    require_seal_admin(identity)
    return policy.set_policy(session, seal, actor=identity.user, **changes)


def proofs(session: Session, seal: Seal) -> list[dict]:
    """Each flow the seal's policy allows, with the verdict of its proof against the demanded
    approvals (kept from the last check; computed now for a flow deployed since)."""
    current = policy.get(session, seal.id)
    if current is None:
        return []
    flows = flow_proofs.allowed_definitions(session, current)
    return [{"process": d.key, "name": d.name, "version": d.version, **found}
            for d, found in zip(flows, flow_proofs.verdicts(session, seal, current, flows),
                                strict=True)]


def change_directly(session: Session, env: Env, identity: Identity, seal: Seal, *,
                    change: str, reason: str | None, custodians: str | None = None,
                    png: bytes | None = None, serial: str | None = None) -> Seal:
    """An administrator changes a seal's custodians or appearance without its flow, saying why:
    recorded in the seal's history (an admin's step that keeps its status) and the audit log."""
    require_admin(identity)
    if change not in CHANGES:
        raise BadInput(msg("unknown change %(change)s", change=change))
    why = _reason(reason)
    if seal.status not in (SealStatus.active, SealStatus.suspended, SealStatus.requested):
        raise BadInput(msg("seal %(seal)s is %(status)s: it can no longer be changed",
                           seal=seal.id, status=seal.status.value))
    if change == "custodians":
        names = names_in(custodians)
        users = directory_users(session, names)
        registry.change_custodians(session, seal, users, actor=identity.user)
    else:
        registry.change_appearance(session, env, seal, png=png, serial=serial or None,
                                   actor=identity.user)
    said = (msg("custodians changed: %(reason)s", reason=why) if change == "custodians"
            else msg("new appearance: %(reason)s", reason=why))
    session.add(SealTransition(seal_id=seal.id, from_status=seal.status, to_status=seal.status,
                               actor_id=identity.user.id, reason=str(said), **stored_reason(said),
                               authority=Authority.admin))
    audit.record(session, "seal.changed", actor=identity.user, seal_id=seal.id, change=change,
                 reason=why, authority=Authority.admin.value)
    logger.info("seal %d: %s changed directly by an administrator", seal.id, change)
    return seal


def directory_users(session: Session, names: list[str]) -> list[User]:
    """The users named, each existing (a problem for each that does not)."""
    if not names:
        raise BadInput(msg("a seal needs at least one custodian"),
                       [{"field": "custodians", "message": msg("required")}])
    found = {u.name: u for u in session.execute(
        select(User).where(User.name.in_(names))).scalars()}
    missing = [{"field": "custodians", "message": msg("no user named %(name)s", name=n)}
               for n in names if n not in found]
    if missing:
        raise BadInput(missing[0]["message"], missing)
    return [found[n] for n in dict.fromkeys(names)]


def create_directly(session: Session, env: Env, identity: Identity, *, name: str,
                    custodians: str | None, seal_type: str, key_type: str, key_storage: str,
                    external_ca: bool, reason: str | None) -> Seal:
    """An administrator makes a seal without its flow (the bootstrap), with the checks of
    ``sealflow seal create`` (:func:`registry.create_seal`), saying why."""
    require_admin(identity)
    why = _reason(reason)
    if not (name or "").strip():
        raise BadInput(msg("a seal needs a name"), [{"field": "name", "message": msg("required")}])
    users = directory_users(session, names_in(custodians))
    seal = registry.create_seal(session, env, name, seal_type=seal_type or "合同专用章",
                                custodians=users, actor=identity.user, key_type=key_type,
                                key_storage=key_storage, external_ca=external_ca)
    session.add(SealTransition(seal_id=seal.id, from_status=None, to_status=seal.status,
                               actor_id=identity.user.id, reason=why,
                               authority=Authority.admin))
    return seal


def confirm_name(seal: Seal, to: SealStatus, typed: str | None) -> None:
    """Voiding or revoking cannot be undone: the seal's name, typed, confirms it."""
    if to in IRREVERSIBLE and (typed or "").strip() != seal.name:
        raise BadInput(msg("type the seal's name, %(name)s, exactly to confirm: this cannot "
                           "be undone", name=seal.name),
                       [{"field": "confirm_name", "message": msg("does not match")}])


def transition(session: Session, identity: Identity, seal: Seal, to: SealStatus, *,
               reason: str, typed_name: str | None) -> Seal:
    """A change of status from the seal's page (:func:`lifecycle.transition`), an irreversible
    one confirmed by the seal's name: asked of someone who may make it (whoever may not is
    told so first, as the transition would tell them)."""
    if to in IRREVERSIBLE:
        if not lifecycle.may_manage(session, identity, seal):
            raise NotAllowed(msg("only the seal's custodians and seal administrators manage it"))
        refused = authority.refusal(session, seal, to, authority.authority_of(identity))
        if refused is not None:
            raise refused
        confirm_name(seal, to, typed_name)
    return lifecycle.transition(session, seal, to, reason=reason, identity=identity)
