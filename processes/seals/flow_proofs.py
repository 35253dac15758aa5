"""Proving flows against seals' policies (processes/seals/proof.py does the proof itself): the
flows a policy lets a seal be used with, each (seal, version, demands) verdict computed once and
kept, and the deploy's and the modeler's warnings for the seals a flow cannot be used with."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processes.db import is_writer
from processes.errors import msg
from processes.models import BusinessType, ProcessDefinition, Seal
from processes.seal_models import SealFlowProof, SealPolicy
from processes.seals import proof


def demands_hash(demands: list[Any]) -> str:
    return hashlib.sha256(json.dumps(demands or [], sort_keys=True).encode()).hexdigest()


def allowed_definitions(session: Session, policy: SealPolicy) -> list[ProcessDefinition]:
    """The current version (latest not retired) of every flow the policy lets this seal be
    used with."""
    latest = select(ProcessDefinition.key, func.max(ProcessDefinition.version).label("v")) \
        .where(ProcessDefinition.retired_at.is_(None)).group_by(ProcessDefinition.key)
    if policy.business_types:
        keys = select(BusinessType.process_key).where(
            BusinessType.key.in_(policy.business_types))
        latest = latest.where(ProcessDefinition.key.in_(keys))
    sub = latest.subquery()
    return list(session.execute(select(ProcessDefinition).join(
        sub, (ProcessDefinition.key == sub.c.key) & (ProcessDefinition.version == sub.c.v))
        .order_by(ProcessDefinition.key)).scalars())


def verdict(session: Session, seal: Seal, policy: SealPolicy,
             definition: ProcessDefinition) -> dict:
    """The proof for (seal, flow version, demands), computed once and kept."""
    digest = demands_hash(policy.demands)
    kept = session.execute(select(SealFlowProof).where(
        SealFlowProof.seal_id == seal.id, SealFlowProof.process_id == definition.id,
        SealFlowProof.demands_hash == digest)).scalar_one_or_none()
    if kept is None:
        outcome = proof.prove(definition, proof.parse_demands(policy.demands),
                              proof.People.load(session, seal))
        kept = SealFlowProof(seal_id=seal.id, process_id=definition.id, demands_hash=digest,
                             ok=outcome.ok,
                             demand=outcome.demand.as_dict() if outcome.demand else None,
                             path=outcome.path)
        # Kept by a writing transaction only: a new request is checked before its writing one
        # (a reader that wrote would take the write lock out of turn). Setting the policy and
        # deploying keep the proofs its checks read.
        if is_writer():
            session.add(kept)
            session.flush()
        message = outcome.message()
    else:
        message = proof.Outcome(kept.ok, proof.Demand(**kept.demand) if kept.demand else None,
                                kept.path or []).message()
    return {"ok": kept.ok, "message": message, "path": kept.path or [],
            "demand": kept.demand}


def verdicts(session: Session, seal: Seal, policy: SealPolicy,
             definitions: list[ProcessDefinition]) -> list[dict]:
    """:func:`verdict` for each of ``definitions``, the kept proofs read in one query (a flow
    deployed since the policy's last change is proved then)."""
    digest = demands_hash(policy.demands)
    kept = {p.process_id: p for p in session.execute(select(SealFlowProof).where(
        SealFlowProof.seal_id == seal.id, SealFlowProof.demands_hash == digest,
        SealFlowProof.process_id.in_([d.id for d in definitions]))).scalars()}
    found = []
    for d in definitions:
        proved = kept.get(d.id)
        if proved is None:
            found.append(verdict(session, seal, policy, d))
            continue
        outcome = proof.Outcome(proved.ok, proof.Demand(**proved.demand) if proved.demand
                                else None, proved.path or [])
        found.append({"ok": proved.ok, "message": outcome.message(), "path": proved.path or [],
                      "demand": proved.demand})
    return found


def prove_new_version(session: Session, definition: ProcessDefinition) -> list[dict]:
    """After a deploy: the seals whose demands the new version fails (a deploy warning)."""
    failures = []
    for policy in session.execute(select(SealPolicy)).scalars():
        if not policy.demands:
            continue
        if definition.id not in {d.id for d in allowed_definitions(session, policy)}:
            continue
        seal = session.get_one(Seal, policy.seal_id)
        kept = verdict(session, seal, policy, definition)
        if not kept["ok"]:
            failures.append(_unusable(seal, definition.authorized_end, kept["message"],
                                      kept["path"]))
    return failures


def prove_unsaved(session: Session, flow: proof.Provable) -> list[dict]:
    """The modeler's Validate: the seals whose demands a flow not stored fails, as a deploy of
    it would warn. A policy applies as it would to the deployed flow: one naming no business
    types applies to every flow, one naming some to the flows they map to. Nothing stored."""
    mapped = select(BusinessType.key).where(BusinessType.process_key == flow.key)
    types = set(session.execute(mapped).scalars())
    failures = []
    for policy in session.execute(select(SealPolicy).order_by(SealPolicy.seal_id)).scalars():
        if not policy.demands or (policy.business_types
                                  and not types & set(policy.business_types)):
            continue
        seal = session.get_one(Seal, policy.seal_id)
        outcome = proof.prove(flow, proof.parse_demands(policy.demands),
                              proof.People.load(session, seal))
        if not outcome.ok:
            failures.append(_unusable(seal, flow.authorized_end, outcome.message(),
                                      outcome.path))
    return failures


def _unusable(seal: Seal, authorized_end: str, message: str, path: list[dict]) -> dict:
    """A proof's failure as a deploy warning on the authorized end, with the path that slips
    past the demanded approval (element ids: the modeler draws it) and the seal's id."""
    return {"element": authorized_end, "line": None, "severity": "warning", "seal": seal.id,
            "message": msg("cannot be used with seal %(seal)s (%(name)s): %(reason)s",
                           seal=seal.id, name=seal.name, reason=message),
            "path": [step["id"] for step in path]}
