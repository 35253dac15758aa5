"""A route preview for a requester (the API: app/api/route_preview.py): who would work a
request with this data, in what order, before it is filed. The studio's dry run
(processes/requests/dry_run.py: the real engine on an instance never stored, everyone
approving) on the request's own business type, seal, and form fields, for a flow the requester
may start. Nothing is written.

A field left empty, or holding a value not usable yet, is given a sample value (the dry run's)
so that the route shows while the form is being filled in; the fields so filled are named (the
route may change with them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.env import Env
from processes.errors import InvalidContent, PolicyRefused, msg
from processes.models import ProcessDefinition, Seal, SealStatus, User
from processes.people.directory import Identity
from processes.requests import dry_run, filing_choices
from processes.requests.dry_run import _sample
from processes.requests.dry_run_input import DryRunInput
from processes.requests.filing_reads import definition_for
from processes.requests.forms import _blank, check_values
from processes.seals import policy

MAX_STEPS = 50
"""Tasks the preview works through (a flow that loops stops there)."""

_PEOPLE_KINDS = ("userTask", "manualTask")


def preview(session: Session, env: Env, identity: Identity, *, process: str | None,
            business_type: str | None, seal: int | None, data: dict[str, Any]) -> dict:
    """The steps (tasks, in order, each with the people who would get it, as display names),
    the end reached, the problems met (a refusal by the seal's policy, a task nobody may
    work), and ``assumed``: the form fields left empty, given a sample value.

    :raises NotAllowed: a lifecycle flow for someone who does not manage the seal.
    :raises InvalidContent / NotFound: no such flow or business type; the data is unusable.
    """
    definition, found_type = definition_for(session, process, business_type)
    filing_choices.may_start(session, identity, definition, seal)
    given = dict(data) if isinstance(data, dict) else {}
    assumed = []
    for field in definition.start_form or []:
        value = given.get(field["id"])
        if not _blank(value):
            try:
                check_values([field], {field["id"]: value}, extra_allowed=False)
                continue
            except InvalidContent:
                pass  # a value being typed, not usable yet: as if empty
        given.pop(field["id"], None)
        if field.get("required") and field.get("default") in (None, ""):
            given[field["id"]] = _sample(field)
            assumed.append(field["id"])
    try:
        result = dry_run.dry_run(session, env, identity, DryRunInput(
            process=definition.key, version=definition.version, business_type=found_type,
            seal=seal, data=given, max_steps=MAX_STEPS))
    except InvalidContent as exc:
        fields = {p.get("field") for p in exc.problems}
        if not assumed or not fields <= set(assumed):
            raise
        # What a lifecycle request asks for (its custodians...) is checked before it runs: a
        # sample value fails there; no route until those fields are filled in.
        return {"process": {"key": definition.key, "version": definition.version},
                "business_type": found_type, "steps": [], "end": None, "problems": [],
                "assumed": assumed}
    steps = [r for r in result["route"] if r["kind"] in _PEOPLE_KINDS]
    names = sorted({n for step in steps for n in step["people"]})
    shown: dict[str, str] = {name: display for name, display in session.execute(
        select(User.name, User.display_name).where(User.name.in_(names))).all()} \
        if names else {}
    return {
        "process": result["process"], "business_type": result["business_type"],
        "steps": [{"element_id": s["element_id"], "name": s["name"],
                   "people": [{"name": n, "display_name": shown.get(n) or n}
                              for n in s["people"]],
                   **({"due_at": s["due_at"]} if s.get("due_at") else {})} for s in steps],
        "end": result["end"],
        "problems": _problems(session, identity, definition, seal, found_type, result),
        "assumed": assumed,
    }


def _problems(session: Session, identity: Identity, definition: ProcessDefinition,
              seal_id: int | None, business_type: str | None, result: dict) -> list[Any]:
    """What a request would meet, for the requester: the seal's refusal and a step no one may
    work as translatable messages (msg); the rest (a designer's mistake: an expression that
    fails, a loop) as the dry run words it."""
    found: list[Any] = []
    seal = session.get(Seal, seal_id) if seal_id is not None else None
    if seal is not None and definition.seal_action is None:
        if seal.status != SealStatus.active:
            found.append(msg("seal %(seal)s is %(status)s and cannot be used", seal=seal.id,
                             status=seal.status.value))
        else:
            try:
                policy.check_use(session, seal, identity.user, business_type, definition,
                                 pages=1, size=0)
            except PolicyRefused as exc:
                found.append(exc.message)
    nobody = {r["element_id"] for r in result["route"]
              if r["kind"] in _PEOPLE_KINDS and not r["people"]}
    found += [msg("no one may work the step %(step)s: its people are unknown, inactive, or you "
                  "yourself; a request would stop there", step=r["name"])
              for r in result["route"] if r["element_id"] in nobody]
    for problem in result["problems"]:
        if problem["severity"] != "error":
            continue
        if problem["element"] is None and problem["message"].startswith(
                "a request would be refused"):
            continue  # said above, translatable
        if problem["element"] in nobody and problem["message"].startswith("no one may work"):
            continue
        found.append(problem["message"])
    return found
