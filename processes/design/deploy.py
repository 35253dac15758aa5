"""Deploying flows: checked (the BPMN, the paths to the authorized end, who deploys), versioned
per process key (identical bytes a no-op), and proved against the seals' policies (Validate
proves them too, on the flow not stored)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processes import audit
from processes.db import serialize
from processes.env import Env
from processes.errors import BadInput, InvalidProcess, NotAllowed, msg
from processes.flows import approval_paths
from processes.flows.bpmn import ParsedFlow, load_flow
from processes.flows.engine import SPECS
from processes.limits import text_problem
from processes.models import ProcessDefinition, User
from processes.people.directory import Identity
from processes.seals import flow_proofs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Deployment:
    definition: ProcessDefinition
    created: bool
    warnings: list[dict]
    scenarios: list[dict] = field(default_factory=list)
    """The flow's saved scenarios re-run on it (see ``Rerun``)."""


Rerun = Callable[[ParsedFlow], list[dict]]
"""Re-runs the flow's saved dry-run scenarios on the parsed files, writing nothing: one
``{name, changed, route_before, route_now, end_before, end_now, problems, elements}`` each
(processes/requests/scenarios.py ``rerun``, handed in by the caller: design does not import
requests)."""


# Process keys that name pages under /processes/ rather than a flow.
RESERVED_KEYS = frozenset({"business-types", "new"})
MAX_COMMENT = 2000
"""A deploy comment's longest length in characters (the version's deploy history)."""


def checked(env: Env, files: dict[str, bytes], *, authorized_end: str | None = None,
            identity: Identity | None = None) -> tuple[ParsedFlow, list[dict]]:
    """The deploy-time checks, nothing stored: the parsed flow and its warnings, or
    InvalidProcess listing every problem (NotAllowed: ``identity`` may not deploy it)."""
    flow: ParsedFlow = load_flow(files, authorized_end=authorized_end,
                                 max_bytes=env.max_bpmn_bytes)
    if flow.key in RESERVED_KEYS:
        message = msg("the process key %(key)s is reserved (it names a page); choose another",
                      key=repr(flow.key))
        raise InvalidProcess(message, [{"element": flow.key, "line": None, "severity": "error",
                                        "message": message}])
    if identity is not None:
        check_may_deploy(identity, flow.seal_action)
    problems, path_warnings = approval_paths.check(flow.files, flow.key, flow.authorized_end,
                                                   flow.tasks)
    if problems:
        raise InvalidProcess(msg("the BPMN was refused: %(message)s", message=problems[0].message),
                             [p.as_dict() for p in problems + flow.warnings + path_warnings])
    return flow, [w.as_dict() for w in flow.warnings + path_warnings]


def validate(session: Session, env: Env, files: dict[str, bytes], *,
             authorized_end: str | None = None, identity: Identity | None = None,
             rerun: Rerun | None = None) -> dict[str, list[dict]]:
    """The modeler's Validate: ``{problems, warnings, scenarios}`` of the deploy checks and
    the saved scenarios re-run (only when the checks pass), nothing stored. The warnings
    include each seal whose policy the flow fails (as the deploy would warn), with the path
    that slips past the demanded approval."""
    try:
        flow, warnings = checked(env, files, authorized_end=authorized_end, identity=identity)
    except InvalidProcess as exc:
        found = exc.problems or [{"element": None, "line": None, "severity": "error",
                                  "message": exc.message}]
        return {"problems": [p for p in found if p.get("severity") != "warning"],
                "warnings": [p for p in found if p.get("severity") == "warning"],
                "scenarios": []}
    return {"problems": [], "warnings": warnings + flow_proofs.prove_unsaved(session, flow),
            "scenarios": rerun(flow) if rerun else []}


def deploy(session: Session, env: Env, files: dict[str, bytes], *, actor: User | None,
           authorized_end: str | None = None, identity: Identity | None = None,
           comment: str | None = None, rerun: Rerun | None = None) -> Deployment:
    """Validate and store a new version (or return the identical existing one).

    ``identity``: who deploys (None: the administrator's command line); a flow that makes or
    changes seals (``seal_action``) is deployed only by seal administrators and admins.
    ``comment``: what changed, in the deployer's words (the version's deploy history, and the
    audit event). ``rerun``: the saved scenarios are re-run; one whose route or end changed
    does not stop the deploy, it is reported (``scenarios``, and a warning)."""
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > MAX_COMMENT:
        raise BadInput(msg("the comment is longer than %(max_comment)s characters",
                           max_comment=MAX_COMMENT))
    if comment is not None and text_problem(comment):
        raise BadInput(msg("the comment %(comment)s", comment=text_problem(comment)))
    flow, warnings = checked(env, files, authorized_end=authorized_end, identity=identity)
    scenarios = _scenarios(flow, rerun, warnings)
    serialize(session, "process_versions")  # two deploys at once: one after the other
    existing = session.execute(
        select(ProcessDefinition).where(ProcessDefinition.key == flow.key,
                                        ProcessDefinition.sha256 == flow.sha256)
    ).scalar_one_or_none()
    if existing is not None:
        if existing.retired_at is not None:  # the no-op would otherwise look like a deploy
            warnings.append({"element": None, "line": None, "severity": "warning",
                             "message": msg("these files are version %(version)s, which is "
                                            "retired: reinstate it to start requests on it",
                                            version=existing.version)})
        return Deployment(existing, False, warnings, scenarios)
    latest = session.execute(
        select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == flow.key)
    ).scalar() or 0
    definition = ProcessDefinition(
        key=flow.key, version=latest + 1, name=flow.name, sha256=flow.sha256, files=flow.files,
        authorized_end=flow.authorized_end, tasks=flow.tasks, start_form=flow.start_form,
        seal_action=flow.seal_action, comment=comment,
        deployed_by_id=actor.id if actor else None)
    session.add(definition)
    session.flush()
    SPECS.put(definition.id, (flow.spec, flow.subprocess_specs))
    warnings.extend(flow_proofs.prove_new_version(session, definition))
    details: dict[str, Any] = {"key": flow.key, "version": definition.version,
                               "sha256": flow.sha256}
    if comment:
        details["comment"] = comment
    audit.record(session, "process.deployed", actor=actor, **details)
    logger.info("process %s version %d deployed", flow.key, definition.version)
    return Deployment(definition, True, warnings, scenarios)


def _scenarios(flow: ParsedFlow, rerun: Rerun | None, warnings: list[dict]) -> list[dict]:
    """The scenarios re-run, a warning added for each that changed (the deploy goes ahead)."""
    scenarios = rerun(flow) if rerun else []
    for s in scenarios:
        if s["changed"]:
            warnings.append({"element": None, "line": None, "severity": "warning",
                             "message": msg("scenario %(name)s now takes another route or "
                                            "reaches another end (deployed all the same)",
                                            name=repr(s["name"]))})
    return scenarios


def check_may_deploy(identity: Identity, seal_action: str | None) -> None:
    """Designers, managers and admins deploy flows; a flow that makes or changes seals is for
    seal administrators and admins only (a seal administrator needs no designer role)."""
    if seal_action is not None:
        if not identity.has_role("seal_admin"):
            raise NotAllowed(msg("this flow changes seals (seal_action %(seal_action)s): only "
                                 "seal administrators and admins deploy such flows",
                                 seal_action=seal_action))
    elif not identity.has_role("designer", "manager"):
        raise NotAllowed(msg("deploying flows needs the designer, manager or admin role"))
