"""Deploy-time checks of a deployment's BPMN and DMN files, every problem reported at once with
its element and line: ids, refused task types, expressions that must compile, timers, multi-
instance collections, performers, gateways without a default, and the DMN a business rule task
names."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from SpiffWorkflow.bpmn.specs.defaults import ManualTask, NoneTask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from processes.errors import Problem
from processes.flows.dmn import RESULT_MAPPINGS, DecisionTable
from processes.flows.dmn_overlaps import unique_overlaps
from processes.flows.dmn_xml import is_dmn_file, parse_dmn
from processes.flows.expressions import ExpressionError, compile_expression
from processes.flows.spiff import CAMUNDA_NS
from processes.flows.timer_events import MIN_CYCLE_PERIOD
from processes.isotime import is_iso_timer, normalise

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_B = "{" + BPMN_NS + "}"
_C = "{" + CAMUNDA_NS + "}"
_EXPR = re.compile(r"^\s*[$#]\{.*\}\s*$", re.DOTALL)

__all__ = ["BPMN_NS", "check_dmn", "element_checks", "manual_task_checks",
           "pass_through_warnings"]


def _check_expression(text: str | None, element: Any, what: str, problems: list[Problem],
                      name: str, juel_only: bool = False) -> None:
    if text is None or not text.strip():
        return
    if juel_only and not _EXPR.match(text):
        return  # a literal list of names
    try:
        compile_expression(text)
    except ExpressionError as exc:
        problems.append(Problem(f"{what}: {exc.message}", element=element.get("id"),
                                line=element.sourceline, file=name))


class _PeriodTooShort(ValueError):
    pass


def _check_timer_value(text: str, kind: str) -> None:
    """Raise ValueError when an ISO timer value is not one SpiffWorkflow can run."""
    value = normalise(text)
    if kind == "timeCycle":
        period = TimerEventDefinition.parse_iso_recurring_interval(value)[2]
        if period < MIN_CYCLE_PERIOD:
            raise _PeriodTooShort(f"a cycle's period must be at least "
                                  f"{MIN_CYCLE_PERIOD.total_seconds():g} second: a "
                                  "shorter one would fire for ever")
    elif kind == "timeDuration":
        TimerEventDefinition.parse_iso_duration(value)
    else:
        TimerEventDefinition.parse_time_or_duration(value)


def _check_timers(root: Any, problems: list[Problem], name: str) -> None:
    """Timer values: ISO 8601 (bare or quoted) that parses, or an expression that compiles."""
    for kind in ("timeDate", "timeDuration", "timeCycle"):
        for el in root.iter(f"{_B}{kind}"):
            event = el.getparent().getparent()
            text = (el.text or "").strip()
            if not text:
                problems.append(Problem(f"{kind} of '{event.get('id')}' is empty",
                                        element=event.get("id"), line=el.sourceline, file=name))
            elif is_iso_timer(text):
                try:
                    _check_timer_value(text, kind)
                except _PeriodTooShort as exc:
                    problems.append(Problem(f"{kind} {text!r} of '{event.get('id')}': {exc}",
                                            element=event.get("id"), line=el.sourceline,
                                            file=name))
                except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception here
                    problems.append(Problem(
                        f"{kind} {text!r} of '{event.get('id')}' is not a valid ISO 8601 value",
                        element=event.get("id"), line=el.sourceline, file=name))
            elif _EXPR.match(text):
                _check_expression(text, event, kind, problems, name)
            else:
                problems.append(Problem(
                    f"{kind} {text!r} of '{event.get('id')}' is not a valid ISO 8601 value "
                    "(write an expression as ${...})", element=event.get("id"),
                    line=el.sourceline, file=name))
    for task in root.iter(f"{_B}userTask"):
        due = task.get(f"{_C}dueDate")
        if due and not is_iso_timer(due):
            _check_expression(due, task, "dueDate", problems, name)


def element_checks(name: str, root: Any, lanes: dict[str, str | None],
                    problems: list[Problem], warnings: list[Problem]) -> None:
    """The checks every BPMN file of a deployment gets (the flow and the files it calls)."""
    ids = Counter(e.get("id") for e in root.iter() if isinstance(e.tag, str) and e.get("id")
                  and not e.tag.startswith(_C))
    for dup, count in ids.items():
        if count > 1:
            first = root.xpath("//*[@id=$i]", i=dup)[0]
            problems.append(Problem(f"id '{dup}' is used {count} times", element=dup,
                                    line=first.sourceline, file=name))
    for tag, reason in (("scriptTask", "script tasks are refused: Sealflow never runs scripts "
                         "from BPMN; use gateways, DMN or user tasks"),
                        ("serviceTask", "service tasks are not supported"),
                        ("sendTask", "send tasks are not supported"),
                        ("eventBasedGateway", "event-based gateways are not supported")):
        for el in root.iter(f"{_B}{tag}"):
            problems.append(Problem(f"{tag} '{el.get('id')}': {reason}", element=el.get("id"),
                                    line=el.sourceline, file=name))
    for cond in root.iter(f"{_B}conditionExpression"):
        flow = cond.getparent()
        _check_expression(cond.text, flow, "condition", problems, name)
    _check_timers(root, problems, name)
    for loop in root.iter(f"{_B}multiInstanceLoopCharacteristics"):
        collection = loop.get(f"{_C}collection")
        if collection and not re.fullmatch(r"\s*([$#]\{\s*)?[A-Za-z_]\w*(\s*\})?\s*", collection):
            task = loop.getparent()
            problems.append(Problem(
                f"multi-instance '{task.get('id')}': camunda:collection must name a variable "
                f"(such as ${{approvers}}), not {collection!r}", element=task.get("id"),
                line=loop.sourceline, file=name))
    for task in root.iter(f"{_B}userTask"):
        for attr in ("assignee", "candidateUsers", "candidateGroups"):
            _check_expression(task.get(f"{_C}{attr}"), task, attr, problems, name,
                              juel_only=True)
        has_performer = any(task.get(f"{_C}{a}") for a in
                            ("assignee", "candidateUsers", "candidateGroups"))
        if not has_performer and not lanes.get(task.get("id")):
            problems.append(Problem(
                f"user task '{task.get('id')}' has no assignee, no candidates and no lane: "
                "no one could work it", element=task.get("id"), line=task.sourceline, file=name))
    for gw in root.iter(f"{_B}exclusiveGateway", f"{_B}inclusiveGateway"):
        outgoing = [f for f in root.iter(f"{_B}sequenceFlow")
                    if f.get("sourceRef") == gw.get("id")]
        conditional = [f for f in outgoing if f.find(f"{_B}conditionExpression") is not None]
        if len(outgoing) > 1 and len(conditional) == len(outgoing) and not gw.get("default"):
            warnings.append(Problem(
                f"gateway '{gw.get('id')}' has no default flow: if no condition holds, the "
                "request stops with an incident", element=gw.get("id"), line=gw.sourceline,
                severity="warning", file=name))


def check_dmn(files: dict[str, bytes], roots: dict[str, Any], max_bytes: int,
              problems: list[Problem], warnings: list[Problem]) -> None:
    """The DMN files of a deployment: every cell compiles, decision ids are unique, and each
    business rule task names one of them, keeps its result and maps it in a way Camunda has.
    Rules of a UNIQUE table that overlap are warnings (:mod:`processes.flows.dmn_overlaps`)."""
    decisions: dict[str, DecisionTable | None] = {}
    for name in filter(is_dmn_file, files):
        tables, found = parse_dmn(name, files[name], max_bytes)
        problems.extend(found)
        for did in tables.keys() & decisions.keys():
            problems.append(Problem(f"decision '{did}' is in more than one DMN file",
                                    element=did, file=name))
        decisions.update(tables)
        for built in filter(None, tables.values()):
            warnings.extend(unique_overlaps(built, name))
    for name, root in roots.items():
        for task in root.iter(f"{_B}businessRuleTask"):
            ref, mapping = task.get(f"{_C}decisionRef"), task.get(f"{_C}mapDecisionResult")
            table = decisions.get(ref or "")
            messages = []
            if not ref:
                messages.append("has no camunda:decisionRef: Sealflow runs the DMN decision "
                                "tables deployed with the flow")
            elif ref not in decisions:
                messages.append(f"names decision '{ref}', which no DMN file deployed with the "
                                "flow has (known: " + (", ".join(sorted(decisions)) or "none")
                                + ")")
            if not task.get(f"{_C}resultVariable"):
                messages.append("has no camunda:resultVariable: the decision's result would be "
                                "lost")
            if mapping and mapping not in RESULT_MAPPINGS:
                messages.append(f"has mapDecisionResult '{mapping}', not one of "
                                + ", ".join(RESULT_MAPPINGS))
            elif (mapping in ("singleEntry", "collectEntries") and table is not None
                  and len(table.outputs) > 1):
                messages.append(f"maps with {mapping}, but decision '{ref}' has "
                                f"{len(table.outputs)} outputs")
            problems.extend(Problem(f"business rule task '{task.get('id')}' {message}",
                                    element=task.get("id"), line=task.sourceline, file=name)
                            for message in messages)


def manual_task_checks(name: str, root: Any, problems: list[Problem]) -> None:
    """A manual task's performers, like a user task's, are names or expressions that compile
    (with none, and no lane, it passes through: :func:`pass_through_warnings`)."""
    for el in root.iter(f"{_B}manualTask"):
        for attr in ("assignee", "candidateUsers", "candidateGroups"):
            _check_expression(el.get(f"{_C}{attr}"), el, attr, problems, name, juel_only=True)


def pass_through_warnings(roots: dict[str, Any], specs: list[Any]) -> list[Problem]:
    """A manual task with no performers and no lane, and an undefined ``bpmn:task``, pass
    through doing nothing (the parsed ``specs`` say which: lanes reach into subprocesses);
    deploying says so."""
    where = {el.get("id"): (name, el) for name, root in roots.items()
             for el in root.iter(f"{_B}manualTask", f"{_B}task")}
    warnings: dict[str, Problem] = {}
    for spec in specs:
        for ts in spec.task_specs.values():
            if ts.bpmn_id in warnings or ts.bpmn_id not in where or ts.manual:
                continue
            name, el = where[ts.bpmn_id]
            if isinstance(ts, ManualTask):
                message = (f"manual task '{ts.bpmn_id}' has no assignee, no candidates and no "
                           "lane: it passes through without anyone confirming it (give it a "
                           "lane or performers to have it confirmed)")
            elif isinstance(ts, NoneTask):
                message = (f"task '{ts.bpmn_id}' has no type: it passes through doing nothing "
                           "(make it a user task or a manual task to have someone work it)")
            else:
                continue
            warnings[ts.bpmn_id] = Problem(message, element=ts.bpmn_id, line=el.sourceline,
                                           severity="warning", file=name)
    return list(warnings.values())
