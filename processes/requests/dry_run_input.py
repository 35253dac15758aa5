"""What a dry run (processes/requests/dry_run.py) runs, checked: the flow (deployed, or unsaved
files checked as a deploy checks them), the sample request's requester, seal and business type
as filing one would find them, and the decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.env import Env
from processes.errors import InvalidContent, InvalidProcess, NotFound, PolicyRefused, msg
from processes.flows import approval_paths, engine
from processes.flows.bpmn import ParsedFlow, load_flow
from processes.models import BusinessType, ProcessDefinition, Seal, SealStatus, User
from processes.people.directory import Identity, get_user
from processes.requests.forms import DECISIONS
from processes.seals import policy

MAX_STEPS = 100
"""Tasks a dry run completes unless told otherwise (a flow that loops ends there)."""
STEP_CEILING = 1000
TIMER_CHOICES = ("fire", "wait")


@dataclass
class DryRunInput:
    """What to run: unsaved ``files`` (checked as a deploy checks them), or a deployed
    ``process`` (``version``: the latest when None), or the flow ``business_type`` maps to."""

    files: dict[str, bytes] | None = None
    authorized_end: str | None = None
    process: str | None = None
    version: int | None = None
    business_type: str | None = None
    requester: str | None = None
    seal: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    decisions: dict[str, Any] = field(default_factory=dict)
    max_steps: int = MAX_STEPS
    pages: int = 1


@dataclass(frozen=True)
class Flow:
    """The flow to run: a deployed version, or an unsaved one (a definition never added to
    the session: its id and version are None) with the specs parsed from its files."""

    definition: ProcessDefinition
    specs: tuple[Any, dict]

    @property
    def tasks(self) -> dict[str, dict[str, Any]]:
        return self.definition.tasks


def flow_of(session: Session, env: Env, given: DryRunInput) -> Flow:
    if given.files:
        parsed = load_flow(given.files, authorized_end=given.authorized_end,
                           max_bytes=env.max_bpmn_bytes)
        problems, warnings = approval_paths.check(parsed.files, parsed.key,
                                                  parsed.authorized_end, parsed.tasks)
        if problems:
            raise InvalidProcess(msg("the BPMN was refused: %(message)s",
                                     message=problems[0].message),
                                 [p.as_dict() for p in problems + parsed.warnings + warnings])
        return unsaved_flow(parsed)
    key = given.process
    if key is None and given.business_type:
        key = session.execute(select(BusinessType.process_key).where(
            BusinessType.key == given.business_type)).scalar_one_or_none()
        if key is None:
            raise InvalidContent(msg("unknown business type '%(business_type)s'",
                                     business_type=given.business_type),
                                 [{"field": "business_type", "message": msg("unknown")}])
    if key is None:
        raise InvalidContent(msg("name the flow: `file` parts (unsaved BPMN/DMN), `process` or "
                                 "`business_type`"),
                             [{"field": "process", "message": msg("file, process or "
                                                                  "business_type is required")}])
    stmt = select(ProcessDefinition).where(ProcessDefinition.key == key)
    stmt = (stmt.where(ProcessDefinition.version == given.version) if given.version is not None
            else stmt.order_by(ProcessDefinition.version.desc()).limit(1))
    definition = session.execute(stmt).scalar_one_or_none()
    if definition is None:
        raise NotFound(msg("no process '%(key)s' version %(version)s is deployed", key=key,
                           version=given.version) if given.version is not None else
                       msg("no process '%(key)s' is deployed", key=key))
    return Flow(definition, engine.SPECS.get(definition))


def unsaved_flow(parsed: ParsedFlow) -> Flow:
    """A flow parsed (and checked) from files, run as it is: never added to the session."""
    unsaved = ProcessDefinition(key=parsed.key, name=parsed.name, sha256=parsed.sha256,
                                files=parsed.files, authorized_end=parsed.authorized_end,
                                tasks=parsed.tasks, start_form=parsed.start_form,
                                seal_action=parsed.seal_action)
    return Flow(unsaved, (parsed.spec, parsed.subprocess_specs))


def business_type_of(session: Session, key: str, named: str | None) -> str | None:
    """As a request gets it: the type named, or else the one type mapped to the flow."""
    if named:
        return named
    types = session.execute(select(BusinessType.key).where(
        BusinessType.process_key == key).limit(2)).scalars().all()
    return types[0] if len(types) == 1 else None


def requester_of(session: Session, identity: Identity | None, name: str | None) -> User:
    """The user named, or else the caller (the command line, with no caller, names one)."""
    if not name:
        if identity is None:
            raise InvalidContent(msg("name the requester"), [{"field": "requester",
                                                         "message": msg("is required")}])
        return identity.user
    try:
        return get_user(session, name)
    except NotFound:
        raise InvalidContent(msg("no user named '%(name)s'", name=name),
                             [{"field": "requester", "message": msg("unknown user")}]) from None


def seal_of(session: Session, seal_id: int | None) -> Seal | None:
    if seal_id is None:
        return None
    seal = session.get(Seal, seal_id)
    if seal is None or seal.system:
        raise InvalidContent(msg("no seal %(seal_id)s", seal_id=seal_id),
                             [{"field": "seal", "message": msg("unknown")}])
    return seal


def refusal(session: Session, flow: Flow, seal: Seal | None, requester: User,
             business_type: str | None, pages: int) -> str | None:
    """Why filing such a request would be refused for its seal (its status, its usage
    policy: the checks intake makes; a document's size is not known), or None."""
    if seal is None or flow.definition.seal_action is not None:
        return None
    if seal.status != SealStatus.active:
        return msg("seal %(seal)s is %(status)s and cannot be used", seal=seal.id,
                   status=seal.status.value)
    try:
        policy.check_use(session, seal, requester, business_type, flow.definition,
                         pages=pages, size=0)
    except PolicyRefused as exc:
        return exc.message
    return None


def check_decisions(decisions: Any) -> dict[str, Any]:
    """``{element_id: choice (every visit) or [choice per visit] (then approve)}``; a
    choice is a decision (approve, reject, return), a timer's ``fire``/``wait``, or
    ``{decision, data, comment}``."""
    if not isinstance(decisions, dict):
        raise InvalidContent(msg("decisions must be a JSON object"),
                             [{"field": "decisions", "message": msg("must be a JSON object")}])
    out: dict[str, Any] = {}
    for element, choices in decisions.items():
        listed = choices if isinstance(choices, list) else [choices]
        for choice in listed:
            word = choice.get("decision", "approve") if isinstance(choice, dict) else choice
            if word not in (*DECISIONS, *TIMER_CHOICES):
                message = (f"{word!r} is not a choice: approve, reject or return for a task, "
                           "fire or wait for a timer")
                raise InvalidContent(msg("decisions.%(element)s: %(message)s", element=element,
                                         message=message),
                                     [{"field": f"decisions.{element}", "message": message}])
        out[str(element)] = choices
    return out
