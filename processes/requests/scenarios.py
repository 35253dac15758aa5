"""Saved dry-run scenarios (their API view: app/api/scenarios.py): a sample request kept with
its flow's key (it outlives the versions), with the route and end the dry run (dry_run.py)
reached when it was saved. Every validate and deploy re-runs them against the files at hand
(``rerun``) and says which now take another route or reach another end, so that a manager sees
what a change does before it is live. Re-running writes nothing."""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit
from processes.env import Env
from processes.errors import BadInput, NotFound, SealflowError, msg
from processes.flows.bpmn import ParsedFlow
from processes.models import ProcessDefinition, User, utcnow
from processes.people.directory import Identity
from processes.requests.dry_run import dry_run
from processes.requests.dry_run_input import DryRunInput, Flow, flow_of, unsaved_flow
from processes.scenario_models import ProcessScenario

logger = logging.getLogger(__name__)

MAX_NAME = 80
"""A scenario name's longest length in characters."""
_NAME = re.compile(r"\w(?:[\w .()·-]*[\w.)])?")
"""Letters (any script), digits and _, with spaces, . ( ) · - inside: it is part of a URL."""
MAX_SCENARIOS = 50
"""Scenarios one flow keeps: each validate and deploy runs them all."""


def check_name(name: str) -> str:
    """The scenario name, or BadInput saying what is wrong with it."""
    if not name or not name.strip():
        raise BadInput(msg("a scenario needs a name"))
    if len(name) > MAX_NAME:
        raise BadInput(msg("a scenario name has at most %(max_name)s characters (%(size)s given)",
                           max_name=MAX_NAME, size=len(name)))
    if not _NAME.fullmatch(name):
        raise BadInput(msg("the scenario name '%(name)s' may hold letters, digits and _, with "
                           "spaces and . ( ) · - between them", name=name))
    return name


def _known(session: Session, key: str) -> None:
    """NotFound unless ``key`` names a flow deployed or with scenarios."""
    for column in (ProcessDefinition.key, ProcessScenario.process_key):
        if session.execute(select(column).where(column == key).limit(1)).first():
            return
    raise NotFound(msg("no process '%(key)s' is deployed", key=key))


def _route(result: dict[str, Any]) -> list[str]:
    return [step["element_id"] for step in result["route"]]


def _inputs(given: DryRunInput, result: dict[str, Any]) -> dict[str, Any]:
    """What a re-run needs, as the run had it: its requester and business type are kept as the
    run found them (empty ones mean the saver, and the type mapped then)."""
    return {"data": given.data, "business_type": result["business_type"],
            "requester": result["requester"], "seal": given.seal, "pages": given.pages,
            "decisions": given.decisions, "max_steps": given.max_steps}


def as_dict(scenario: ProcessScenario, saved_by: str | None) -> dict[str, Any]:
    return {"name": scenario.name, "process": scenario.process_key, "input": scenario.inputs,
            "route": scenario.route, "end": scenario.end, "saved_by": saved_by,
            "saved_at": scenario.saved_at.isoformat()}


def listing(session: Session, key: str) -> list[dict[str, Any]]:
    """The flow's scenarios by name (NotFound: no such flow)."""
    _known(session, key)
    rows = session.execute(
        select(ProcessScenario, User.name).outerjoin(User, User.id == ProcessScenario.saved_by_id)
        .where(ProcessScenario.process_key == key).order_by(ProcessScenario.name)).all()
    return [as_dict(scenario, who) for scenario, who in rows]


def save(session: Session, env: Env, identity: Identity, key: str, name: str,
         given: DryRunInput) -> tuple[ProcessScenario, bool]:
    """Run ``given`` (on its unsaved files, else the latest version of ``key``) and keep it as
    the scenario ``name`` of ``key`` with the route and end it reached, replacing one of that
    name; whether it is new. Audited (process.scenario_saved)."""
    check_name(name)
    flow: Flow | None = None
    if given.files:
        flow = flow_of(session, env, given)
        if flow.definition.key != key:
            raise BadInput(msg("the files are flow '%(definition)s', not '%(key)s'",
                               definition=flow.definition.key, key=key))
    else:
        given = replace(given, process=key, version=None)
    result = dry_run(session, env, identity, given, flow=flow)
    scenario = session.execute(select(ProcessScenario).where(
        ProcessScenario.process_key == key, ProcessScenario.name == name)).scalar_one_or_none()
    created = scenario is None
    if scenario is None:
        count = len(session.execute(select(ProcessScenario.id).where(
            ProcessScenario.process_key == key)).all())
        if count >= MAX_SCENARIOS:
            raise BadInput(msg("flow '%(key)s' has %(count)s scenarios, the most it keeps: "
                               "delete one", key=key, count=count))
        scenario = ProcessScenario(process_key=key, name=name)
        session.add(scenario)
    scenario.inputs = _inputs(given, result)
    scenario.route = _route(result)
    scenario.end = result["end"]
    scenario.saved_by_id = identity.user.id
    if not created:
        scenario.saved_at = utcnow()
    session.flush()
    audit.record(session, "process.scenario_saved", actor=identity.user, key=key, name=name,
                 route=scenario.route, end=scenario.end)
    logger.info("scenario %r of process %s saved", name, key)
    return scenario, created


def delete(session: Session, identity: Identity, key: str, name: str) -> bool:
    """Forget the scenario; whether there was one (NotFound: no such flow). Audited."""
    _known(session, key)
    scenario = session.execute(select(ProcessScenario).where(
        ProcessScenario.process_key == key, ProcessScenario.name == name)).scalar_one_or_none()
    if scenario is None:
        return False  # gone already: deleting is idempotent
    session.delete(scenario)
    session.flush()
    audit.record(session, "process.scenario_deleted", actor=identity.user, key=key, name=name)
    logger.info("scenario %r of process %s deleted", name, key)
    return True


def differing(before: list[str], now: list[str]) -> list[str]:
    """The elements where two routes part: those in a stretch one route has and the other
    has not (or has in another order), in the order first met."""
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=before, b=now, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            out += [e for e in before[i1:i2] + now[j1:j2] if e not in out]
    return out


def rerun(session: Session, env: Env, identity: Identity | None,
          parsed: ParsedFlow) -> list[dict]:
    """Each scenario of the flow's key run on ``parsed`` (the files being validated or
    deployed): ``{name, changed, route_before, route_now, end_before, end_now, problems,
    elements}``, ``elements`` where the routes differ (and the ends, when they do).
    ``identity``: who validates (None: the command line; a scenario names its requester)."""
    scenarios = session.execute(select(ProcessScenario).where(
        ProcessScenario.process_key == parsed.key).order_by(ProcessScenario.name)).scalars().all()
    if not scenarios:
        return []
    flow = unsaved_flow(parsed)
    out = []
    for scenario in scenarios:
        given = DryRunInput(**{k: v for k, v in scenario.inputs.items()
                               if k in DryRunInput.__dataclass_fields__})
        try:
            result = dry_run(session, env, identity, given, flow=flow)
            route, end, problems = _route(result), result["end"], result["problems"]
        except SealflowError as exc:  # the sample no longer fits (a field, a user gone)
            route, end = [], None
            problems = exc.problems or [{"element": None, "message": exc.message,
                                         "severity": "error"}]
        elements = differing(scenario.route, route)
        if end != scenario.end:
            elements += [e["element_id"] for e in (scenario.end, end)
                         if e and e["element_id"] not in elements]
        out.append({"name": scenario.name, "changed": route != scenario.route
                    or end != scenario.end, "route_before": scenario.route, "route_now": route,
                    "end_before": scenario.end, "end_now": end, "problems": problems,
                    "elements": elements})
    return out
