"""Where an instance's tokens have been and are, by BPMN element, read from its task tree (for
the request's diagram). The tree is compacted (engine.compact), so the finished part it still
holds may be only the latest stretch: callers add what the database remembers."""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState

# A token waits in these; a boundary event that is merely armed is not where the token is.
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR


@dataclass
class Positions:
    done: set[str] = field(default_factory=set)
    """Elements the instance finished (completed tasks, passed gateways and events)."""
    live: set[str] = field(default_factory=set)
    """Elements a token waits in (a ready task, a waiting catch event, a failed task)."""
    steps: set[tuple[str, str]] = field(default_factory=set)
    """(from, to) element pairs a token went along: the sequence flows it took."""


def of(wf: BpmnWorkflow) -> Positions:
    found = Positions()
    for workflow in (wf, *wf.subprocesses.values()):
        for task in workflow.tasks.values():
            element = task.task_spec.bpmn_id
            if not element:
                continue
            if task.state == TaskState.COMPLETED:
                found.done.add(element)
            elif task.has_state(_LIVE) and not isinstance(task.task_spec, BoundaryEvent):
                found.live.add(element)
            else:
                continue  # predicted (MAYBE, LIKELY, FUTURE), cancelled, or an armed boundary
            before = _previous_element(task)
            if before is not None and before != element:
                found.steps.add((before, element))
    return found


def _previous_element(task: Task) -> str | None:
    """The element the token came from: the nearest finished ancestor that is one (the engine's
    own tasks in between, such as a boundary event's split, have no element)."""
    node = task.parent
    while node is not None:
        if node.task_spec.bpmn_id:
            return node.task_spec.bpmn_id if node.state == TaskState.COMPLETED else None
        node = node.parent
    return None
