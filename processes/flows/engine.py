"""Running instances: specs parsed once per process definition, state in and out of the database.

Stored state is SpiffWorkflow's serializer JSON without the spec, which each process definition
holds once (spiff-arena does the same); restoring onto the cached spec halves the cost.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.defaults import EndEvent
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask, MultiInstanceTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.task import TaskState

from processes.errors import msg
from processes.flows.bpmn import build_spec
from processes.flows.expressions import ExpressionError
from processes.flows.spiff import MessageDefinition, is_human, is_manual, script_engine
from processes.flows.spiff_state import serializer
from processes.flows.timer_events import firing_budget
from processes.models import ProcessDefinition, Request

logger = logging.getLogger(__name__)


class EngineIncident(Exception):
    """The engine stopped on a designer's mistake (expression error, no path...)."""

    def __init__(self, element: str | None, message: str) -> None:
        super().__init__(message)
        self.element = element
        self.message = message


class StateUnreadable(EngineIncident):
    """A request's stored instance state cannot be restored: nested too deep for the
    serializer (data from before Sealflow bounded it), damaged, or otherwise unreadable. The
    request becomes an incident on its own; whatever else was under way goes on."""


class _SpecCache:
    """Parsed specs by process definition id (definitions never change once deployed)."""

    def __init__(self, size: int = 128) -> None:
        self._items: OrderedDict[int, tuple[Any, dict]] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, definition: ProcessDefinition) -> tuple[Any, dict]:
        with self._lock:
            hit = self._items.get(definition.id)
            if hit is not None:
                self._items.move_to_end(definition.id)
                return hit
        specs = build_spec(definition.files, definition.key)
        _wire_loops(specs)
        with self._lock:
            self._items[definition.id] = specs
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return specs

    def put(self, definition_id: int, specs: tuple[Any, dict]) -> None:
        _wire_loops(specs)
        with self._lock:
            self._items[definition_id] = specs


def _wire_loops(specs: tuple[Any, dict]) -> None:
    """A loop or multi-instance task hears its children complete through a signal it connects
    only when it creates a child: a freshly parsed spec, restoring an instance whose children
    exist already, must be wired up front or the activity never completes."""
    spec, subprocess_specs = specs
    for wf_spec in (spec, *subprocess_specs.values()):
        for task_spec in wf_spec.task_specs.values():
            if isinstance(task_spec, LoopTask):
                child = wf_spec.task_specs.get(task_spec.task_spec)
                if child is not None and not child.completed_event.is_connected(
                        task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)


SPECS = _SpecCache()


@dataclass(frozen=True)
class ReadyTask:
    id: str
    element_id: str
    data: dict[str, Any]
    activity: str | None = None
    """The multi-instance activation this task is an instance of (its parent's task id)."""
    manual: bool = False
    """A manual task: confirmed done, with no decision; never an approval."""
    spec: Any = None
    """Its task spec (what the inbox needs of it, for a definition deployed before its
    metadata was kept: :func:`processes.flows.bpmn.spec_metadata`)."""


def run(wf: BpmnWorkflow) -> None:
    """Run until the instance waits; a designer's mistake becomes an EngineIncident."""
    _run(wf)


def _run(wf: BpmnWorkflow) -> None:
    with firing_budget():  # timers that may fire in one advance (processes.flows.timer_events)
        try:
            wf.do_engine_steps()
        except Exception as exc:  # noqa: BLE001 - whatever a flow does wrong is an incident
            raise _incident(wf, exc) from None


def _incident(wf: BpmnWorkflow, exc: Exception) -> EngineIncident:
    """What went wrong, in the designer's terms: the element and Sealflow's own message (the
    library wraps it and keeps the original only as the context)."""
    task = getattr(exc, "task", None)
    element = task.task_spec.bpmn_id if task is not None else _failed_element(wf)
    cause: BaseException = exc
    while not isinstance(cause, ExpressionError) and cause.__context__ is not None:
        cause = cause.__context__
    if isinstance(cause, ExpressionError):
        return EngineIncident(element, cause.message)
    if isinstance(exc, SpiffWorkflowException):
        return EngineIncident(element, str(exc))
    logger.warning("engine error at %s", element, exc_info=exc)
    return EngineIncident(element, msg("the engine failed at this element: %(error)s: "
                                       "%(detail)s", error=type(exc).__name__, detail=str(exc)))


def _failed_element(wf: BpmnWorkflow) -> str | None:
    for task in wf.get_tasks(state=TaskState.ERROR):
        return task.task_spec.bpmn_id
    return None


def start(definition: ProcessDefinition, variables: dict[str, Any]) -> BpmnWorkflow:
    """A new instance with ``variables`` as its data, run until it waits."""
    return start_specs(SPECS.get(definition), variables)


def start_specs(specs: tuple[Any, dict], variables: dict[str, Any]) -> BpmnWorkflow:
    """:func:`start` on parsed specs (an unsaved flow's, for a dry run)."""
    _wire_loops(specs)
    spec, subprocess_specs = specs
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine())
    # Variables go on the start task (data flows from there), like SpiffArena's "start form".
    for task in wf.get_tasks(state=TaskState.READY):
        task.set_data(**variables)
    _run(wf)
    return wf


def load(definition: ProcessDefinition, state: str) -> BpmnWorkflow:
    """Restore an instance onto its definition's spec; StateUnreadable when it cannot be (its
    state, or the definition's files, which an older version accepted, no longer load)."""
    try:
        spec, subprocess_specs = SPECS.get(definition)
        return serializer().loads(state, spec, subprocess_specs)
    except Exception as exc:  # noqa: BLE001 - whatever stops a restore makes it unreadable
        detail = f"{type(exc).__name__}: {str(exc)[:200]}" if str(exc) else type(exc).__name__
        logger.warning("an instance of %s v%d cannot be restored: %s", definition.key,
                       definition.version, detail)
        raise StateUnreadable(None, msg("its stored state cannot be read (%(detail)s)",
                                        detail=detail)) from None


def dump(wf: BpmnWorkflow) -> tuple[str, str]:
    """(state JSON, serializer version), after compacting finished history."""
    compact(wf)
    ser = serializer()
    return ser.dumps(wf), ser.VERSION


def save(req: Request, wf: BpmnWorkflow, dumped: tuple[str, str] | None = None) -> None:
    """Store ``wf`` as ``req``'s instance state (:func:`dump`: compacted, with the serializer
    version), the one way an instance's state is written. ``dumped``: what :func:`dump` gave
    of ``wf`` already (it has not run since)."""
    req.state, req.state_version = dumped if dumped is not None else dump(wf)


COMPACT_DEPTH = 8
"""Finished history deeper than this above the live part of an instance is cut away."""


def compact(wf: BpmnWorkflow) -> int:
    """Cut the finished history out of the live task tree; returns how many tasks went.

    SpiffWorkflow keeps every task an instance ever ran in one tree: a loop (return for
    revision, resubmit) deepens it each round, so each step costs more, and past a depth of
    1000 the engine stops finding READY tasks at all. What a user sees of that history lives in
    the database (the inbox rows, the audit log), so the tree needs only the live part: the
    lowest task above every unfinished task, with its subtree, hung directly under the root.
    """
    live = [t for t in wf.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not live:
        return 0
    paths = []
    for task in live:
        chain = []
        node = task
        while node is not None:
            chain.append(node)
            node = node.parent
        paths.append(chain[::-1])
    shared = 0
    for level in zip(*paths, strict=False):
        if any(t is not level[0] for t in level):
            break
        shared += 1
    if shared <= COMPACT_DEPTH:
        return 0
    root, anchor = paths[0][0], paths[0][shared - 1]
    keep = {root.id}
    stack = [anchor]
    while stack:
        node = stack.pop()
        keep.add(node.id)
        stack.extend(node.children)
    gone = [tid for tid in wf.tasks if tid not in keep]
    for tid in gone:
        del wf.tasks[tid]
        wf.subprocesses.pop(tid, None)
    root._children = [anchor.id]
    anchor._parent = root.id
    if wf.last_task is not None and wf.last_task.id not in keep:
        wf.last_task = anchor
    return len(gone)


def ready_user_tasks(wf: BpmnWorkflow) -> list[ReadyTask]:
    """The tasks waiting for a person: user tasks, and manual tasks with performers."""
    return [ReadyTask(str(t.id), t.task_spec.bpmn_id, t.data,
                      str(t.parent.id) if t.parent is not None
                      and isinstance(t.parent.task_spec, MultiInstanceTask) else None,
                      manual=is_manual(t.task_spec),
                      spec=t.task_spec)
            for t in wf.get_tasks(state=TaskState.READY, manual=True) if is_human(t.task_spec)]


def is_manual_task(wf: BpmnWorkflow, task_id: str) -> bool:
    """Whether the task is a manual task (its confirmation is no decision), read from the
    spec, so it holds for definitions deployed before their metadata said so."""
    task = wf.get_task_from_id(UUID(task_id))
    return task is not None and is_manual(task.task_spec)


def complete(wf: BpmnWorkflow, task_id: str, values: dict[str, Any]) -> None:
    """Complete a READY user task with ``values`` and run until the instance waits again."""
    task = wf.get_task_from_id(UUID(task_id))
    if task is None or task.state != TaskState.READY:
        raise LookupError(task_id)
    task.set_data(**values)
    with firing_budget():
        try:
            task.run()
        except Exception as exc:  # noqa: BLE001 - an incident, like any failure of a flow
            raise _incident(wf, exc) from None
        _run(wf)


TIMER_EVENTS = {"TimeDateEventDefinition", "DurationTimerEventDefinition",
                "CycleTimerEventDefinition"}


def next_timer_due(wf: BpmnWorkflow) -> datetime | None:
    """The earliest due time among the instance's waiting timers."""
    dues = [datetime.fromisoformat(ev.value).astimezone(UTC) for ev in wf.waiting_events()
            if ev.event_type in TIMER_EVENTS and isinstance(ev.value, str)]
    return min(dues) if dues else None


def refresh_timers(wf: BpmnWorkflow) -> None:
    """Let due timers fire (within the advance's budget), then run until the instance waits
    again."""
    with firing_budget():
        try:
            wf.refresh_timers()
        except Exception as exc:  # noqa: BLE001 - a timer that cannot be computed: incident
            raise _incident(wf, exc) from None
        _run(wf)


def throw_signal(wf: BpmnWorkflow, name: str) -> bool:
    """Throw a BPMN signal into the instance and run on; False when nothing catches it."""
    with firing_budget():
        try:
            wf.send_event(BpmnEvent(SignalEventDefinition(name)))
        except WorkflowException:
            return False
        _run(wf)
    return True


def stalled_at(wf: BpmnWorkflow, open_task_ids: set[str]) -> EngineIncident | None:
    """The incident of an instance that has not ended and waits on nothing that can come: no
    person's task with an inbox row (``open_task_ids``), no armed timer, no message the API
    can deliver; None when it waits on one of these (or has ended, or a failed task is
    already someone's incident). A signal catch alone is no wait: the only signal from outside
    is ``withdraw``, which ends the request whatever the flow does. The incident names the
    element where the token stopped (the deepest live one)."""
    if wf.is_completed():
        return None
    live = list(wf.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED
                             | TaskState.ERROR))
    if any(t.state == TaskState.ERROR for t in live):
        return None
    if any(str(t.id) in open_task_ids for t in live if t.state == TaskState.READY):
        return None
    if any(ev.event_type == MessageDefinition.__name__
           or (ev.event_type in TIMER_EVENTS and isinstance(ev.value, str))
           for ev in wf.waiting_events()):
        return None
    order = (TaskState.READY, TaskState.WAITING, TaskState.STARTED)
    named = sorted((t for t in live if t.task_spec.bpmn_id),
                   key=lambda t: (order.index(t.state), -t.depth))
    if not named:
        return EngineIncident(None, msg("the instance waits on nothing that can come"))
    spec = named[0].task_spec
    name = type(spec).__name__
    kind = (_HUMAN_KINDS.get(name) if is_human(spec) else None) or _KINDS.get(name, name)
    return EngineIncident(spec.bpmn_id, msg(
        "the token stopped at %(kind)s '%(name)s' and the request waits on nothing that can "
        "come: no task for anyone, no timer, no message the API can deliver. Fix the flow (a "
        "new version, migrated) or its data, then retry", kind=kind,
        name=spec.bpmn_name or spec.bpmn_id))


# The kind of element a token stopped at, as the incident names it (a Message: translated).
_KINDS: dict[str, str] = {
    "UserTask": msg("user task"), "ManualTask": msg("manual task"),
    "ReceiveTask": msg("receive task"), "IntermediateCatchEvent": msg("catch event"),
    "BoundaryEvent": msg("boundary event"), "ParallelGateway": msg("parallel gateway"),
    "InclusiveGateway": msg("inclusive gateway"), "CallActivity": msg("subprocess")}
_HUMAN_KINDS: dict[str, str] = {"UserTask": msg("user task with no inbox task"),
                                "ManualTask": msg("manual task with no inbox task")}


def task_completed(wf: BpmnWorkflow, task_id: str) -> bool:
    task = wf.get_task_from_id(UUID(task_id))
    return task is not None and task.state == TaskState.COMPLETED


def reached_end(wf: BpmnWorkflow, authorized_end: str) -> str | None:
    """The top-level end event the instance ended in, once it has ended: the authorized end if
    it was reached, otherwise the last end event reached (a side branch, such as a reminder,
    may end in an end event of its own before the main path does)."""
    if not wf.is_completed():
        return None
    ends = [t for t in wf.tasks.values() if t.workflow is wf
            and isinstance(t.task_spec, EndEvent) and t.state == TaskState.COMPLETED]
    if any(t.task_spec.bpmn_id == authorized_end for t in ends):
        return authorized_end
    ends.sort(key=lambda t: t.last_state_change)
    if ends:
        return ends[-1].task_spec.bpmn_id
    # A token that ran out of sequence flows (an element with no outgoing flow) ends the
    # process, as in Camunda: the request ends there, never at the authorized end.
    last = wf.last_task
    return (last.task_spec.bpmn_id if last is not None else None) or "(no end event)"


def clear_decision(wf: BpmnWorkflow, task_ids: list[str]) -> None:
    """``decision`` is cleared when a user task starts (DESIGN: BPMN conventions)."""
    for task_id in task_ids:
        task = wf.get_task_from_id(UUID(task_id))
        if task is not None:
            task.data.pop("decision", None)
            task.data.pop("comment", None)
