"""Timer event definitions whose work is bounded whatever the dates.

SpiffWorkflow's cycle timer fires one period per update, and every task that completes updates
every waiting timer: a cycle due since long ago (a return date in the past, a timer armed while
Sealflow was down for months) fires once per missed period within one call, each firing adding
a task to the tree that the next one walks again, so the cost grows with the square of the
periods missed (a lending request with a return date in year 1 held SQLite's write lock for
minutes). Here missed occurrences are skipped by arithmetic before a cycle fires:

- when a cycle is armed, occurrences before now are dropped, as Camunda does (the next is the
  first one after now; those dropped count against a bounded ``Rn``);
- when an armed cycle has missed several occurrences (Sealflow was down), it fires once.

And the timers that may fire within one advance of an instance are capped
(:data:`FIRINGS_PER_ADVANCE`); a timer over the cap stays due and fires in the next advance,
which the scheduler runs at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEventDefinitionParser

from processes.errors import msg
from processes.flows.expressions import ExpressionError

FIRINGS_PER_ADVANCE = 20
"""Timer firings within one advance of one instance (one engine call); the rest wait for the
next advance."""

MIN_CYCLE_PERIOD = timedelta(seconds=1)
"""A shorter period (``R/PT0S``) would fire on every update, for ever."""


@dataclass
class FiringBudget:
    """The timers that fired within one advance, and how many more may."""

    left: int = FIRINGS_PER_ADVANCE
    fired: list = field(default_factory=list)
    """The waiting tasks whose timer fired (a cycle once per occurrence)."""

    def take(self, task) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        self.fired.append(task)
        return True


_budget: ContextVar[FiringBudget | None] = ContextVar("timer_firing_budget", default=None)


@contextmanager
def firing_budget() -> Iterator[FiringBudget]:
    """The scope of one advance; nested scopes share the outermost one's budget."""
    current = _budget.get()
    if current is not None:
        yield current
        return
    budget = FiringBudget()
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def _may_fire(task) -> bool:
    budget = _budget.get()
    return budget is None or budget.take(task)


def _now() -> datetime:
    # SpiffWorkflow's clock, the one its timers compare with (tests move it).
    return spiff_timer.datetime.now(UTC)


def skip_missed(value: dict, now: datetime, *, keep_one: bool) -> dict:
    """Move a cycle's ``{"cycles", "next", "duration"}`` past the occurrences due by ``now``,
    leaving the last one due when ``keep_one`` (it fires once); constant time."""
    period = timedelta(seconds=value["duration"])
    if period < MIN_CYCLE_PERIOD:
        raise ExpressionError(msg("a timer cycle's period must be at least %(least)s second, "
                                  "not %(period)s", least=f"{MIN_CYCLE_PERIOD.total_seconds():g}",
                                  period=str(period)))
    if value["cycles"] == 0:
        return value
    nxt = datetime.fromisoformat(value["next"])
    if nxt >= now:
        return value
    missed = (now - nxt) // period + 1  # occurrences at or before now
    skip = missed - 1 if keep_one else missed
    if value["cycles"] > 0:
        skip = min(skip, value["cycles"] - 1 if keep_one else value["cycles"])
        value["cycles"] -= skip
    value["next"] = (nxt + skip * period).isoformat()
    return value


class _Reported:
    """Waiting events carry SpiffWorkflow's class names (what callers and stored state know)."""

    stock: type

    def details(self, my_task):
        event = super().details(my_task)  # type: ignore[misc]  # a mixin: Spiff's class is next
        event.event_type = self.stock.__name__
        return event


class CycleTimer(_Reported, CycleTimerEventDefinition):
    """``timeCycle`` with missed occurrences skipped before it fires (see the module)."""

    stock = CycleTimerEventDefinition

    def cycle_complete(self, my_task):
        value = my_task._get_internal_data("event_value")
        now = _now()
        if value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, duration = self.parse_iso_recurring_interval(expression)
            value = {"cycles": cycles, "next": start.isoformat(),
                     "duration": duration.total_seconds()}
            first = True
        else:
            value, first = dict(value), False
        try:
            value = skip_missed(value, now, keep_one=not first)
        except (ExpressionError, OverflowError) as exc:
            error = exc if isinstance(exc, ExpressionError) else ExpressionError(
                msg("the timer cycle runs past the last date there is"))
            error.task = my_task  # the engine names the element of the incident by it
            raise error from None
        my_task._set_internal_data(event_value=value)
        due = value["cycles"] != 0 and datetime.fromisoformat(value["next"]) < now
        if due and not _may_fire(my_task):
            return False
        return super().cycle_complete(my_task)


class _OnceTimer:
    """A date or duration timer: fires once, within the advance's budget."""

    def has_fired(self, my_task):
        before = my_task._get_internal_data("event_fired", False)
        fired = super().has_fired(my_task)  # type: ignore[misc]  # a mixin: Spiff's class is next
        if fired and not before and not _may_fire(my_task):
            my_task._set_internal_data(event_fired=False)
            return False
        return fired


class DateTimer(_Reported, _OnceTimer, TimeDateEventDefinition):
    """``timeDate`` within the advance's firing budget."""

    stock = TimeDateEventDefinition


class DurationTimer(_Reported, _OnceTimer, DurationTimerEventDefinition):
    """``timeDuration`` within the advance's firing budget."""

    stock = DurationTimerEventDefinition


TIMER_CLASSES = {TimeDateEventDefinition: DateTimer,
                 DurationTimerEventDefinition: DurationTimer,
                 CycleTimerEventDefinition: CycleTimer}
"""SpiffWorkflow's timer definitions and Sealflow's, which the parser makes instead."""


def parse_timer_event(parser, event):
    """The event parsers' ``parse_timer_event``: SpiffWorkflow's parsing, Sealflow's classes."""
    parsed = CamundaEventDefinitionParser.parse_timer_event(parser, event)
    return TIMER_CLASSES[type(parsed)](parsed.name, parsed.expression,
                                       description=parsed.description)


# -- for a dry run, which lists timers and fires one only when told -----------------------------

def is_timer(task) -> bool:
    """Whether the task waits on a timer (a catch or boundary event)."""
    return isinstance(getattr(task.task_spec, "event_definition", None),
                      spiff_timer.TimerEventDefinition)


def timer_due(task) -> str | None:
    """A waiting timer's next due time (ISO 8601, UTC), once it is armed."""
    value = task.task_spec.event_definition.details(task).value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).astimezone(UTC).isoformat()
    except ValueError:
        return None


def fire_now(task) -> None:
    """Make a waiting timer due now: it fires when the instance's timers are next refreshed."""
    if isinstance(task.task_spec.event_definition, CycleTimerEventDefinition):
        value = task._get_internal_data("event_value")
        if value is not None:
            past = _now() - timedelta(seconds=1)
            task._set_internal_data(event_value={**value, "next": past.isoformat()})
    else:
        task._set_internal_data(event_fired=True)
