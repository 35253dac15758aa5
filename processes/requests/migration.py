"""Moving running instances from one deployed version of a flow to another.

SpiffWorkflow 3.2 compares specs (``SpecDiff``: task specs aligned by BPMN id, then by structure)
and re-points an instance's tasks at the new spec (``migrate_workflow``), resetting and
re-predicting the READY and WAITING ones. It does not check that the result is sound, so each
instance is first checked here and refused, naming the element, when it is:

- waiting in (or inside) an element the new version removed, or renamed;
- past an element the new version removed (its completed task could not be restored);
- inside a multi-instance or loop activity: the library resets the running instances' data and
  keeps the activity's old outgoing wiring (seen with SpiffWorkflow 3.2.0);
- inside a subprocess or call activity the new version changed or dropped (the library does not
  re-predict a running activity, so the instance would finish on the old wiring);
- stored in a state that cannot be read (a real migration also makes it an incident).

After the migration every task must stand on a spec of the new version, or the instance is
refused too. Variables and timers of the tasks the library resets are kept, as Camunda keeps
them: migration changes the version, not the data. A task that was waiting keeps its inbox row
(its candidates and claim); the new version's assignment rules apply from the next task on.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util.diff import SpecDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import audit
from processes.db import lock_request
from processes.errors import BadInput, NotFound, msg
from processes.flows import engine
from processes.flows.engine import SPECS, StateUnreadable
from processes.flows.expressions import ExpressionError
from processes.flows.spiff_state import serializer
from processes.limits import INT_MAX
from processes.models import ProcessDefinition, Request, RequestStatus, TaskStatus, User
from processes.requests.advancing import advance, mark_incident
from processes.task_models import Task

logger = logging.getLogger(__name__)

#: Requests whose instance is still in flight; the others are never touched.
MOVABLE = (RequestStatus.running, RequestStatus.incident, RequestStatus.halted)

_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR
_RESET = TaskState.READY | TaskState.WAITING  # what migrate_workflow resets and re-predicts

# Spec attributes as a designer names them; extension keys (assignee, form...) are kept as is.
_ASPECTS = {"inputs": "incoming", "outputs": "outgoing", "cond_task_specs": "conditions",
            "default_task_spec": "default flow", "bpmn_name": "name", "typename": "type",
            "event_definition": "event"}
_IGNORED = {"name", "bpmn_id", "description", "manual", "lookahead", "extensions"}


@dataclass(frozen=True)
class Refusal:
    """An instance that cannot move, the element that stops it, and why."""

    request: int
    element: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"request": self.request, "reason": self.reason, "element": self.element}


@dataclass
class Migration:
    """What a migration did (or, with ``dry_run``, would do): ``moved`` lists the requests
    moved (or movable), ``refused`` the ones that stay on ``from_version``."""

    key: str
    from_version: int
    to_version: int
    dry_run: bool
    diff: dict[str, Any]
    moved: list[int] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "from": self.from_version, "to": self.to_version,
                "dry_run": self.dry_run, "diff": self.diff, "moved": list(self.moved),
                "refused": [r.as_dict() for r in self.refused]}


def plan(session: Session, key: str, from_version: int, to_version: int) -> Migration:
    """The spec diff between two versions, and which in-flight instances of ``from_version``
    could move (``moved``) or not (``refused``). Changes nothing."""
    return _run(session, key, from_version, to_version, apply=False, actor=None)


def migrate(session: Session, key: str, from_version: int, to_version: int, *, dry_run: bool,
            actor: User | None) -> Migration:
    """Move every movable in-flight instance of ``from_version`` to ``to_version``, each under
    its row lock, in the caller's transaction; ``dry_run`` only plans."""
    return _run(session, key, from_version, to_version, apply=not dry_run, actor=actor)


def _run(session: Session, key: str, from_version: int, to_version: int, *, apply: bool,
         actor: User | None) -> Migration:
    source, target = _versions(session, key, from_version, to_version)
    source_specs, target_specs = SPECS.get(source), SPECS.get(target)
    result = Migration(key, from_version, to_version, not apply,
                       spec_diff(source_specs, target_specs))
    for req in _in_flight(session, source, lock=apply):
        if not req.state:
            result.refused.append(Refusal(req.id, None, msg(
                "its instance stopped before its first wait (an incident at the start): retry "
                "it instead")))
            continue
        try:
            wf = engine.load(source, req.state)
        except StateUnreadable as exc:
            result.refused.append(Refusal(req.id, None, exc.message))
            if apply and req.status != RequestStatus.incident:
                mark_incident(session, req, exc)
            continue
        refusal = _move(wf, target_specs, from_version, to_version)
        if refusal is not None:
            result.refused.append(Refusal(req.id, *refusal))
            continue
        if apply:
            _save(session, req, wf, source, target, actor)
        result.moved.append(req.id)
    if apply:
        audit.record(session, "process.migrated", actor=actor, key=key,
                     from_version=from_version, to_version=to_version, moved=result.moved,
                     refused=[r.as_dict() for r in result.refused])
        logger.info("process %s: %d instance(s) migrated from version %d to %d, %d refused",
                    key, len(result.moved), from_version, to_version, len(result.refused))
    return result


def _in_flight(session: Session, source: ProcessDefinition, *, lock: bool) -> Iterator[Request]:
    """The running, incident and halted requests on ``source``, oldest first; with ``lock``,
    each row is first loaded under its lock, so its state cannot be a stale read."""
    movable = (Request.process_id == source.id, Request.status.in_(MOVABLE))
    if not lock:
        yield from session.execute(select(Request).where(*movable).order_by(Request.id)).scalars()
        return
    for request_id in session.execute(select(Request.id).where(*movable)
                                      .order_by(Request.id)).scalars().all():
        req = lock_request(session, request_id)
        if req is not None and req.process_id == source.id and req.status in MOVABLE:
            yield req  # else it finished, or was moved, since the query


def _versions(session: Session, key: str, from_version: int,
              to_version: int) -> tuple[ProcessDefinition, ProcessDefinition]:
    if not (1 <= from_version <= INT_MAX and 1 <= to_version <= INT_MAX):
        raise BadInput(msg("versions are positive integers (64-bit)"))
    if from_version == to_version:
        raise BadInput(msg("from and to are both version %(from_version)s: nothing to migrate",
                           from_version=from_version))
    found = {d.version: d for d in session.execute(select(ProcessDefinition).where(
        ProcessDefinition.key == key,
        ProcessDefinition.version.in_((from_version, to_version)))).scalars()}
    if not found and not session.execute(select(ProcessDefinition.id).where(
            ProcessDefinition.key == key).limit(1)).first():
        raise NotFound(msg("no process with key '%(key)s' is deployed", key=key))
    for version in (from_version, to_version):
        if version not in found:
            raise NotFound(msg("process '%(key)s' has no version %(version)s", key=key,
                               version=version))
    return found[from_version], found[to_version]


def _save(session: Session, req: Request, wf: Any, source: ProcessDefinition,
          target: ProcessDefinition, actor: User | None) -> None:
    """Point the request at the new version and re-project its inbox from the moved instance."""
    with session.no_autoflush:
        before = {t.id for t in session.execute(select(Task).where(
            Task.request_id == req.id, Task.status == TaskStatus.open)).scalars()}
    req.process = target
    advance(session, req, wf, actor=actor)
    cancelled = sorted(tid for tid in before
                       if session.get_one(Task, tid).status == TaskStatus.cancelled)
    audit.record(session, "request.migrated", actor=actor, request_id=req.id,
                 process=target.key, from_version=source.version, to_version=target.version,
                 cancelled_tasks=cancelled)
    logger.info("request %d migrated from %s version %d to %d", req.id, target.key,
                source.version, target.version)


# -- the spec diff ------------------------------------------------------------------------------

def spec_diff(source: tuple[Any, dict], target: tuple[Any, dict]) -> dict[str, Any]:
    """``{added, removed, changed}`` by BPMN element id, over the process and its subprocesses;
    ``changed`` maps an element to what changed (``incoming``, ``conditions``, ``assignee``...)."""
    registry = serializer().registry
    (old_spec, old_deps), (new_spec, new_deps) = source, target
    pairs = [(old_spec, new_spec)] + [(old_deps[n], new_deps[n]) for n in old_deps
                                      if n in new_deps]
    added: set[str] = set()
    removed: set[str] = set()
    changed: dict[str, list[str]] = {}
    for old, new in pairs:
        diff = SpecDiff(registry, old, new)
        added.update(s.bpmn_id for s in diff.added if s.bpmn_id)
        removed.update(s.bpmn_id for s in diff.removed if s.bpmn_id)
        for spec in diff.changed:
            aspects = _aspects(spec, diff.alignment[spec])
            if spec.bpmn_id and aspects:
                changed[spec.bpmn_id] = aspects
    for name in old_deps:
        if name not in new_deps:
            removed.update(s.bpmn_id for s in old_deps[name].task_specs.values() if s.bpmn_id)
    for name in new_deps:
        if name not in old_deps:
            added.update(s.bpmn_id for s in new_deps[name].task_specs.values() if s.bpmn_id)
    return {"added": sorted(added), "removed": sorted(removed),
            "changed": dict(sorted(changed.items()))}


def _aspects(old: Any, new: Any) -> list[str]:
    """What changed between two aligned specs, in a designer's words, without noise: the order
    of flows (it follows the diagram's layout) and the line numbers the parser keeps in form
    fields (they move whenever the file is edited above them)."""
    registry = serializer().registry
    before, after = _comparable(registry.convert(old)), _comparable(registry.convert(new))
    aspects: list[str] = []
    if old.bpmn_id != new.bpmn_id:
        aspects.append(f"renamed to {new.bpmn_id}")
    for key, value in before.items():
        if key not in _IGNORED and after.get(key) != value:
            aspects.append(_ASPECTS.get(key, key))
    old_ext, new_ext = _extensions(old), _extensions(new)
    for key in sorted(set(old_ext) | set(new_ext)):
        if old_ext.get(key) != new_ext.get(key) and key not in aspects:
            aspects.append(key)
    return aspects


def _comparable(converted: dict[str, Any]) -> dict[str, Any]:
    for key in ("inputs", "outputs", "cond_task_specs"):
        if isinstance(converted.get(key), list):
            converted[key] = sorted(converted[key], key=repr)
    return converted


def _extensions(spec: Any) -> dict[str, Any]:
    ext = dict(getattr(spec, "extensions", None) or {})
    if "form" in ext:
        ext["form"] = [{k: v for k, v in f.items() if k != "line"} for f in ext["form"]]
    return ext


# -- one instance -------------------------------------------------------------------------------

def _move(wf: Any, target: tuple[Any, dict], from_version: int,
          to_version: int) -> tuple[str | None, str] | None:
    """Migrate ``wf`` in memory onto ``target``; ``(element, reason)`` if it must not move
    (``wf`` is then unusable and is dropped by the caller)."""
    try:
        return _migrate_instance(wf, target, from_version, to_version)
    except (SpiffWorkflowException, ExpressionError, LookupError, TypeError, ValueError,
            AttributeError) as exc:
        # The library's migration is young (its docs call it a brand new feature): a failure
        # refuses this instance instead of failing the whole batch.
        logger.warning("migrating an instance to version %d failed", to_version, exc_info=True)
        return None, msg("SpiffWorkflow could not migrate it: %(detail)s", detail=str(exc))


def _migrate_instance(wf: Any, target: tuple[Any, dict], from_version: int,
                      to_version: int) -> tuple[str | None, str] | None:
    new_spec, new_deps = target
    top_diff, sub_diffs = diff_workflow(serializer().registry, wf, new_spec, new_deps)
    diffs = [(wf, top_diff, new_spec)]
    for sp_id, sp_diff in sub_diffs.items():
        sp = wf.subprocesses[sp_id]
        if sp_diff is None:
            return _element(sp.spec), msg("inside subprocess '%(name)s', which version "
                                          "%(version)s does not have", name=sp.spec.name,
                                          version=to_version)
        diffs.append((sp, sp_diff, new_deps[sp.spec.name]))
    for _workflow, diff, _spec in diffs:
        refusal = _check(diff, from_version, to_version)
        if refusal is not None:
            return refusal
    kept = {t.id: (copy.deepcopy(t.data), copy.deepcopy(t.internal_data))
            for t in _all_tasks(wf) if t.state & _RESET}
    for workflow, diff, spec in diffs:
        migrate_workflow(diff, workflow, spec)
    for task in _all_tasks(wf):
        if task.id in kept:  # reset by the library: keep its variables and timers
            task.data, task.internal_data = kept[task.id]
    return _stale(wf, new_spec, new_deps, to_version)


def _check(diff: Any, from_version: int, to_version: int) -> tuple[str | None, str] | None:
    removed = diff.removed
    for task in removed:
        if task.state & _ACTIVE:
            return _element(task.task_spec), msg(
                "waiting in '%(element)s', which version %(version)s removed",
                element=_element(task.task_spec), version=to_version)
    for task, new in diff.alignment.items():
        if task.state & _ACTIVE and new is not None and new.bpmn_id != task.task_spec.bpmn_id:
            return _element(task.task_spec), msg(
                "waiting in '%(element)s', which version %(version)s renamed to '%(new)s'",
                element=_element(task.task_spec), version=to_version, new=new.bpmn_id)
        if task.state & _ACTIVE and isinstance(task.task_spec, LoopTask):
            return _element(task.task_spec), msg(
                "inside the multi-instance or loop activity '%(element)s', which cannot be "
                "migrated while it runs", element=_element(task.task_spec))
    for task in diff.changed:
        new = diff.alignment[task]
        if task.state == TaskState.STARTED and _aspects(task.task_spec, new):
            return _element(task.task_spec), msg(
                "inside '%(element)s', which version %(version)s changed: the instance would "
                "finish it on version %(old)s's wiring", element=_element(task.task_spec),
                version=to_version, old=from_version)
    for task in removed:
        if task.state & (TaskState.COMPLETED | TaskState.CANCELLED):
            return _element(task.task_spec), msg(
                "already passed '%(element)s', which version %(version)s removed: its history "
                "cannot move to the new version", element=_element(task.task_spec),
                version=to_version)
    return None  # predicted tasks of removed elements are dropped by the reset (checked after)


def _stale(wf: Any, new_spec: Any, new_deps: dict, to_version: int
           ) -> tuple[str | None, str] | None:
    """After migrating, every (sub)workflow and task must stand on a spec of the new version."""
    for workflow in [wf, *wf.subprocesses.values()]:
        expected = new_spec if workflow is wf else new_deps.get(workflow.spec.name)
        if workflow.spec is not expected:
            return _element(workflow.spec), msg(
                "'%(name)s' could not be matched to version %(version)s",
                name=workflow.spec.name, version=to_version)
        for task in workflow.tasks.values():
            if expected.task_specs.get(task.task_spec.name) is not task.task_spec:
                return _element(task.task_spec), msg(
                    "'%(element)s' could not be matched to an element of version %(version)s",
                    element=_element(task.task_spec), version=to_version)
    return None


def _all_tasks(wf: Any) -> list[Any]:
    """Every task of the instance and its subprocesses (no depth limit, unlike get_tasks)."""
    return [t for w in [wf, *wf.subprocesses.values()] for t in w.tasks.values()]


def _element(spec: Any) -> str:
    """The BPMN id behind a spec; internal specs (``X.BoundaryEventSplit``) name their element."""
    bpmn_id = getattr(spec, "bpmn_id", None)
    if bpmn_id:
        return bpmn_id
    name = spec.name
    return name.rsplit(".", 1)[0] if "." in name else name
