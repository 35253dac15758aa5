"""The dry run (its API view: app/api/dry_run.py; its input, checked: dry_run_input.py): the
route a request would take through a flow, deployed or not yet, with the people resolved
against today's users and groups, worked by the real engine on an instance that is never
stored. Nothing is written, sealed or sent: no row, no audit event, no signal (those come only
from ``advancing``, which it never calls)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.env import Env
from processes.errors import msg
from processes.flows import engine
from processes.flows.bpmn import spec_metadata
from processes.flows.engine import EngineIncident
from processes.flows.feel import DmnError
from processes.flows.spiff import DecisionTableTask, MessageDefinition
from processes.flows.timer_events import fire_now, is_timer, timer_due
from processes.models import User
from processes.people.directory import Identity
from processes.requests import inbox, lifecycle_requests
from processes.requests.dry_run_input import (
    STEP_CEILING,
    TIMER_CHOICES,
    DryRunInput,
    Flow,
    business_type_of,
    check_decisions,
    flow_of,
    refusal,
    requester_of,
    seal_of,
)
from processes.requests.forms import check_values
from processes.requests.intake import builtins

RUN_CAP = 200
"""Elements the engine may run in one go (between tasks) before the route calls it a loop."""

_KINDS = {"DecisionTableTask": "businessRuleTask", "NoneTask": "task",
          "SubWorkflowTask": "subProcess", "TransactionSubprocess": "transaction"}


def _kind(spec: Any) -> str:
    """The BPMN element's kind, as the modeler names it."""
    if type(spec).__name__ == "CallActivity" and getattr(spec, "spec", None) == spec.bpmn_id:
        return "subProcess"  # Camunda's parser makes an embedded subprocess a CallActivity
    name = _KINDS.get(type(spec).__name__)
    if name is None:
        name = next((c.__name__ for c in type(spec).__mro__ if c.__name__ in (
            "UserTask", "ManualTask")), type(spec).__name__)
    return name[:1].lower() + name[1:]


def _sample(form_field: dict[str, Any]) -> Any:
    """A value for a required form field the dry run's decision gave none for."""
    kind = form_field.get("type")
    if kind == "long":
        return 0
    if kind == "boolean":
        return False
    if kind == "date":
        return date.today().isoformat()
    if kind == "enum" and form_field.get("values"):
        return form_field["values"][0]["id"]
    return "(dry run)"


class _Run:
    """One dry run's state: the route so far, the problems, the visits of each element."""

    def __init__(self, session: Session, flow: Flow, requester: User,
                 decisions: dict[str, Any], max_steps: int) -> None:
        self.session, self.flow, self.requester = session, flow, requester
        self.decisions, self.max_steps = decisions, max_steps
        self.route: list[dict[str, Any]] = []
        self.problems: list[dict[str, Any]] = []
        self.seen: set[Any] = set()
        self.timers: dict[Any, dict[str, Any]] = {}
        self.visits: dict[str, int] = {}
        self.chosen: set[Any] = set()
        self.opened: dict[Any, tuple[dict[str, Any], dict[str, Any], set[int]]] = {}
        self.approved = False

    def problem(self, element: str | None, message: str, severity: str = "error") -> None:
        self.problems.append({"element": element, "line": None, "message": message,
                              "severity": severity})

    def choice(self, element: str) -> Any:
        """The choice for this visit of ``element`` (None: none was given)."""
        visit = self.visits.get(element, 0)
        self.visits[element] = visit + 1
        choices = self.decisions.get(element)
        if choices is None or not isinstance(choices, list):
            return choices  # one choice: every visit
        return choices[visit] if visit < len(choices) else None

    def collect(self, wf: Any) -> bool:
        """Append what the engine did since the last look: elements it completed, in order,
        the timers now armed (listed with their due time, not fired), and the tasks now
        waiting for a person; False when no one may work one of them."""
        done = [t for t in wf.get_tasks(state=TaskState.COMPLETED)
                if t.id not in self.seen and t.task_spec.bpmn_id
                and not isinstance(t.task_spec, LoopTask)]
        done.sort(key=lambda t: (t.last_state_change, t.depth))
        looped = len(done) > RUN_CAP
        if looped:
            looping = sorted({t.task_spec.bpmn_id for t in done[-RUN_CAP // 2:]})
            self.problem(looping[0], msg(
                "the engine ran %(count)s elements without waiting for anyone: the flow loops "
                "through %(elements)s with no task in the loop (the route shows the first ones)",
                count=len(done), elements=", ".join(looping[:5])))
            done = done[:RUN_CAP]
        for task in done:
            self.seen.add(task.id)
            if task.id in self.timers:
                self.timers[task.id]["fired"] = True
                continue
            entry = self.entry(task)
            if isinstance(task.task_spec, DecisionTableTask):
                self.decided(task, entry)
            self.route.append(entry)
        for task in wf.get_tasks(state=TaskState.WAITING):
            if is_timer(task) and task.id not in self.timers and task.id not in self.seen:
                entry = self.entry(task) | {"due_at": timer_due(task), "fired": False}
                self.timers[task.id] = entry
                self.route.append(entry)
        for task in wf.get_tasks(state=TaskState.CANCELLED):
            if task.id in self.opened:  # a timer took the token away from a person's task
                self.opened[task.id][0]["cancelled"] = True
        if looped:
            return False
        return all([self.open(r) for r in engine.ready_user_tasks(wf)
                    if UUID(r.id) not in self.seen])

    def entry(self, task: Any) -> dict[str, Any]:
        spec = task.task_spec
        return {"element_id": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id,
                "kind": _kind(spec), "people": []}

    def decided(self, task: Any, entry: dict[str, Any]) -> None:
        """A business rule task: the rule(s) that matched, and the result it stored (the
        table is evaluated again on the data it ran on, its parent's)."""
        spec = task.task_spec
        data = task.parent.data if task.parent is not None else task.data
        try:
            rules = spec.table.hits(data)
        except DmnError:
            rules = []
        shown = [{"id": r.id, "row": r.number, "description": r.annotation} for r in rules]
        if shown:
            entry["rule"] = shown[0]
        if len(shown) > 1:
            entry["rules"] = shown
        entry["result"] = task.data.get(spec.result_variable)

    def fire_chosen(self, wf: Any) -> bool:
        """Fire each waiting timer the decisions say to fire on this visit; whether any."""
        fired = False
        for task in list(wf.get_tasks(state=TaskState.WAITING)):
            if is_timer(task) and task.id not in self.chosen \
                    and self.decisions.get(task.task_spec.bpmn_id):
                self.chosen.add(task.id)  # one choice per arming of the timer
                if self.choice(task.task_spec.bpmn_id) == "fire":
                    fire_now(task)
                    fired = True
        if fired:
            engine.refresh_timers(wf)
        return fired

    def open(self, ready: engine.ReadyTask) -> bool:
        """A task waiting for a person: its entry, with the people who would get it as the
        inbox resolves them; False when no one may work it (a request's incident)."""
        meta = self.flow.tasks.get(ready.element_id) or spec_metadata(ready.spec)
        entry: dict[str, Any] = {"element_id": ready.element_id,
                                 "name": meta.get("name") or ready.element_id,
                                 "kind": _kind(ready.spec), "people": []}
        self.route.append(entry)
        task_id = UUID(ready.id)
        self.seen.add(task_id)
        found = inbox.performers(self.session, ready.element_id, meta, ready.data)
        able = set(found.able) - (set() if found.requester_may else {self.requester.id})
        self.opened[task_id] = (entry, meta, able)
        if able:
            entry["people"] = list(self.session.execute(
                select(User.name).where(User.id.in_(able)).order_by(User.name)).scalars())
        due = inbox.due_at(meta.get("due_date"), ready.data, ready.element_id)
        if due is not None:
            entry["due_at"] = due.isoformat()
        if not able:
            who = ", ".join(filter(None, [found.assignee, *found.user_names,
                                          *found.group_refs]))
            self.problem(ready.element_id, msg(
                "no one may work task '%(task)s': candidates [%(who)s] are unknown, inactive, "
                "or excluded as the requester; a request would stop here with an incident",
                task=entry["name"], who=who or msg("nobody")))
            return False
        return True

    def work(self, wf: Any, ready: engine.ReadyTask) -> None:
        """Complete one opened task as the decisions say."""
        entry, meta, able = self.opened[UUID(ready.id)]
        choice = self.choice(ready.element_id)
        given = choice if isinstance(choice, dict) else {"decision": choice}
        form = meta.get("form") or []
        data = dict(given.get("data") or {})
        for f in form:
            if f.get("required") and f["id"] not in data and f.get("default") in (None, ""):
                data[f["id"]] = _sample(f)
        values = check_values(form, data, extra_allowed=False)
        if not ready.manual:
            decision = given.get("decision") or "approve"
            if decision in TIMER_CHOICES:
                decision = "approve"
            entry["decision"] = decision
            values |= {"decision": decision, "comment": given.get("comment")}
            self.approved |= decision == "approve" and bool(able - {self.requester.id})
            engine.clear_decision(wf, [ready.id])
        engine.complete(wf, ready.id, values)

    def waited(self, wf: Any) -> None:
        """The instance waits on no person: say on what."""
        armed = [t for t in wf.get_tasks(state=TaskState.WAITING) if is_timer(t)]
        if armed:
            for task in armed:
                spec = task.task_spec
                due, timer = timer_due(task), spec.bpmn_name or spec.bpmn_id
                self.problem(spec.bpmn_id, msg(
                    "the request would wait for timer '%(timer)s' (due %(due)s); the dry run "
                    'stops here unless decisions say {"%(element)s": "fire"}', timer=timer,
                    due=due, element=spec.bpmn_id) if due else msg(
                    "the request would wait for timer '%(timer)s' (due at a time not known "
                    'yet); the dry run stops here unless decisions say {"%(element)s": '
                    '"fire"}', timer=timer, element=spec.bpmn_id), severity="warning")
            return
        messages = [ev.name for ev in wf.waiting_events()
                    if ev.event_type == MessageDefinition.__name__]
        if messages:
            self.problem(None, msg(
                "the request would wait for message %(messages)s (delivered through the API); "
                "the dry run stops here", messages=", ".join(repr(m) for m in messages)),
                severity="warning")
            return
        stalled = engine.stalled_at(wf, set())
        if stalled is not None:
            self.problem(stalled.element, stalled.message)


def dry_run(session: Session, env: Env, identity: Identity | None, given: DryRunInput, *,
            flow: Flow | None = None) -> dict:
    """The route a request with ``given``'s data would take, the end it reaches, and the
    problems on the way (InvalidProcess/InvalidContent: the flow or the input is unusable).
    ``flow``: already parsed (a saved scenario re-run at a validate), else ``given``'s.
    ``identity``: the caller, the requester unless ``given`` names one (None: it must)."""
    flow = flow or flow_of(session, env, given)
    requester = requester_of(session, identity, given.requester)
    seal = seal_of(session, given.seal)
    decisions = check_decisions(given.decisions)
    data = check_values(flow.definition.start_form, given.data or {}, extra_allowed=True)
    business_type = business_type_of(session, flow.definition.key, given.business_type)
    variables = {**data, **builtins(session, requester, seal, business_type, given.pages)}
    variables.update(lifecycle_requests.plan(session, flow.definition.seal_action, data))
    run = _Run(session, flow, requester, decisions, max(1, min(given.max_steps, STEP_CEILING)))
    refused = refusal(session, flow, seal, requester, business_type, given.pages)
    if refused is not None:
        run.problem(None, msg("a request would be refused: %(reason)s", reason=refused))
    if seal is None and flow.definition.seal_action != "make":
        run.problem(None, msg("no seal was given: ${seal} is empty and ${seal_custodians} "
                              "names no one"), severity="warning")
    steps = 0
    wf = None
    try:
        wf = engine.start_specs(flow.specs, variables)
        while True:
            if not run.collect(wf):
                break
            engine.compact(wf)  # as each save of a request does: a long loop stays cheap
            if wf.is_completed():
                break
            if run.fire_chosen(wf):
                continue
            ready = engine.ready_user_tasks(wf)
            if not ready:
                run.waited(wf)
                break
            if steps >= run.max_steps:
                run.problem(ready[0].element_id, msg(
                    "the dry run stopped after %(steps)s tasks at '%(element)s': the flow "
                    "loops, or needs a higher max_steps", steps=steps,
                    element=ready[0].element_id))
                break
            steps += 1
            run.work(wf, ready[0])
    except EngineIncident as exc:
        if wf is not None:
            run.collect(wf)
        run.problem(exc.element, msg("%(incident)s; a request would stop here with an incident",
                                     incident=exc.message))
        wf = None
    end = None
    if wf is not None and wf.is_completed():
        end_id = engine.reached_end(wf, flow.definition.authorized_end)
        authorized = end_id == flow.definition.authorized_end
        end = {"element_id": end_id, "authorized": authorized}
        if authorized and not run.approved:
            run.problem(end_id, msg("the authorized end is reached with no approval by anyone "
                                    "other than the requester: the request would fail"))
    unused = sorted(set(decisions) - set(run.visits))
    for element in unused:
        run.problem(element, msg("decisions name '%(element)s', which the run never reached",
                                 element=element), severity="warning")
    return {"process": {"key": flow.definition.key, "version": flow.definition.version},
            "business_type": business_type, "requester": requester.name, "route": run.route,
            "end": end, "problems": run.problems, "steps": steps}
