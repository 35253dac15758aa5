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

from processes.errors import Problem, msg
from processes.flows.dmn import RESULT_MAPPINGS, DecisionTable
from processes.flows.dmn_overlaps import unique_overlaps
from processes.flows.dmn_xml import is_dmn_file, parse_dmn
from processes.flows.element_kinds import BPMN_NS
from processes.flows.expressions import ExpressionError, compile_expression
from processes.flows.spiff import CAMUNDA_NS
from processes.flows.timer_events import MIN_CYCLE_PERIOD
from processes.isotime import is_iso_timer, normalise

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
        # ``what``: an attribute's or a tag's name, or msg("condition"); the detail is the
        # expression checker's own sentence.
        problems.append(Problem(msg("%(what)s: %(detail)s", what=what, detail=exc.message),
                                element=element.get("id"), line=element.sourceline, file=name))


class _PeriodTooShort(ValueError):
    pass


def _check_timer_value(text: str, kind: str) -> None:
    """Raise ValueError when an ISO timer value is not one SpiffWorkflow can run."""
    value = normalise(text)
    if kind == "timeCycle":
        period = TimerEventDefinition.parse_iso_recurring_interval(value)[2]
        if period < MIN_CYCLE_PERIOD:
            raise _PeriodTooShort(msg("a cycle's period must be at least %(seconds)s second: a "
                                      "shorter one would fire for ever",
                                      seconds=f"{MIN_CYCLE_PERIOD.total_seconds():g}"))
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
            said = {"kind": kind, "value": repr(text), "id": event.get("id")}
            if not text:
                problems.append(Problem(msg("%(kind)s of '%(id)s' is empty", **said),
                                        element=event.get("id"), line=el.sourceline, file=name))
            elif is_iso_timer(text):
                try:
                    _check_timer_value(text, kind)
                except _PeriodTooShort as exc:
                    problems.append(Problem(msg("%(kind)s %(value)s of '%(id)s': %(detail)s",
                                                detail=exc.args[0], **said),
                                            element=event.get("id"), line=el.sourceline,
                                            file=name))
                except Exception:  # noqa: BLE001 - SpiffWorkflow raises bare Exception here
                    problems.append(Problem(
                        msg("%(kind)s %(value)s of '%(id)s' is not a valid ISO 8601 value",
                            **said), element=event.get("id"), line=el.sourceline, file=name))
            elif _EXPR.match(text):
                _check_expression(text, event, kind, problems, name)
            else:
                problems.append(Problem(
                    msg("%(kind)s %(value)s of '%(id)s' is not a valid ISO 8601 value (write an "
                        "expression as ${...})", **said), element=event.get("id"),
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
            problems.append(Problem(msg("id '%(id)s' is used %(count)s times", id=dup,
                                        count=count), element=dup, line=first.sourceline,
                                    file=name))
    for tag, reason in (("scriptTask", msg("script tasks are refused: Sealflow never runs "
                                           "scripts from BPMN; use gateways, DMN or user tasks")),
                        ("serviceTask", msg("service tasks are not supported")),
                        ("sendTask", msg("send tasks are not supported")),
                        ("eventBasedGateway", msg("event-based gateways are not supported"))):
        for el in root.iter(f"{_B}{tag}"):
            problems.append(Problem(msg("%(tag)s '%(id)s': %(reason)s", tag=tag, id=el.get("id"),
                                        reason=reason), element=el.get("id"),
                                    line=el.sourceline, file=name))
    for cond in root.iter(f"{_B}conditionExpression"):
        flow = cond.getparent()
        _check_expression(cond.text, flow, msg("condition"), problems, name)
    _check_timers(root, problems, name)
    for loop in root.iter(f"{_B}multiInstanceLoopCharacteristics"):
        collection = loop.get(f"{_C}collection")
        if collection and not re.fullmatch(r"\s*([$#]\{\s*)?[A-Za-z_]\w*(\s*\})?\s*", collection):
            task = loop.getparent()
            problems.append(Problem(msg(
                "multi-instance '%(id)s': camunda:collection must name a variable (such as "
                "${approvers}), not %(collection)s", id=task.get("id"),
                collection=repr(collection)), element=task.get("id"), line=loop.sourceline,
                file=name))
    for task in root.iter(f"{_B}userTask"):
        for attr in ("assignee", "candidateUsers", "candidateGroups"):
            _check_expression(task.get(f"{_C}{attr}"), task, attr, problems, name,
                              juel_only=True)
        has_performer = any(task.get(f"{_C}{a}") for a in
                            ("assignee", "candidateUsers", "candidateGroups"))
        if not has_performer and not lanes.get(task.get("id")):
            problems.append(Problem(msg(
                "user task '%(id)s' has no assignee, no candidates and no lane: no one could "
                "work it", id=task.get("id")), element=task.get("id"), line=task.sourceline,
                file=name))
    for gw in root.iter(f"{_B}exclusiveGateway", f"{_B}inclusiveGateway"):
        outgoing = [f for f in root.iter(f"{_B}sequenceFlow")
                    if f.get("sourceRef") == gw.get("id")]
        conditional = [f for f in outgoing if f.find(f"{_B}conditionExpression") is not None]
        if len(outgoing) > 1 and len(conditional) == len(outgoing) and not gw.get("default"):
            warnings.append(Problem(msg(
                "gateway '%(id)s' has no default flow: if no condition holds, the request stops "
                "with an incident", id=gw.get("id")), element=gw.get("id"), line=gw.sourceline,
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
            problems.append(Problem(msg("decision '%(id)s' is in more than one DMN file",
                                        id=did), element=did, file=name))
        decisions.update(tables)
        for built in filter(None, tables.values()):
            warnings.extend(unique_overlaps(built, name))
    for name, root in roots.items():
        for task in root.iter(f"{_B}businessRuleTask"):
            ref, mapping = task.get(f"{_C}decisionRef"), task.get(f"{_C}mapDecisionResult")
            table = decisions.get(ref or "")
            tid, messages = task.get("id"), []
            if not ref:
                messages.append(msg("business rule task '%(id)s' has no camunda:decisionRef: "
                                    "Sealflow runs the DMN decision tables deployed with the "
                                    "flow", id=tid))
            elif ref not in decisions:
                messages.append(msg("business rule task '%(id)s' names decision '%(ref)s', "
                                    "which no DMN file deployed with the flow has (known: "
                                    "%(known)s)", id=tid, ref=ref,
                                    known=", ".join(sorted(decisions)) or msg("none")))
            if not task.get(f"{_C}resultVariable"):
                messages.append(msg("business rule task '%(id)s' has no camunda:resultVariable: "
                                    "the decision's result would be lost", id=tid))
            if mapping and mapping not in RESULT_MAPPINGS:
                messages.append(msg("business rule task '%(id)s' has mapDecisionResult "
                                    "'%(mapping)s', not one of %(mappings)s", id=tid,
                                    mapping=mapping, mappings=", ".join(RESULT_MAPPINGS)))
            elif (mapping in ("singleEntry", "collectEntries") and table is not None
                  and len(table.outputs) > 1):
                messages.append(msg("business rule task '%(id)s' maps with %(mapping)s, but "
                                    "decision '%(ref)s' has %(count)s outputs", id=tid,
                                    mapping=mapping, ref=ref, count=len(table.outputs)))
            problems.extend(Problem(message, element=tid, line=task.sourceline, file=name)
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
                message = msg("manual task '%(id)s' has no assignee, no candidates and no "
                              "lane: it passes through without anyone confirming it (give it a "
                              "lane or performers to have it confirmed)", id=ts.bpmn_id)
            elif isinstance(ts, NoneTask):
                message = msg("task '%(id)s' has no type: it passes through doing nothing "
                              "(make it a user task or a manual task to have someone work it)",
                              id=ts.bpmn_id)
            else:
                continue
            warnings[ts.bpmn_id] = Problem(message, element=ts.bpmn_id, line=el.sourceline,
                                           severity="warning", file=name)
    return list(warnings.values())
