"""The version diff's words in the caller's language: processes/flows/version_diff.py names
each changed property and element type in the modeler's English (``candidate groups``,
``userTask``), which the API answers unchanged (clients compare them); the compare page
(app/web/process_diff.py) shows these labels instead. A name not listed shows as it is (a
``camunda:property`` such as ``seal_action`` is the designer's own)."""

from __future__ import annotations

from flask_babel import lazy_pgettext as _p
from flask_babel import pgettext

PROPERTIES = {
    "name": _p("diff property", "name"),
    "type": _p("diff property", "type"),
    "documentation": _p("diff property", "documentation"),
    "condition": _p("diff property", "condition"),
    "timer": _p("diff property", "timer"),
    "event": _p("diff property", "event"),
    "multi-instance": _p("diff property", "multi-instance"),
    "text": _p("diff property", "text"),
    "lane": _p("diff property", "lane"),
    "incoming": _p("diff property", "incoming"),
    "outgoing": _p("diff property", "outgoing"),
    "assignee": _p("diff property", "assignee"),
    "candidate groups": _p("diff property", "candidate groups"),
    "candidate users": _p("diff property", "candidate users"),
    "due date": _p("diff property", "due date"),
    "follow-up date": _p("diff property", "follow-up date"),
    "default flow": _p("diff property", "default flow"),
    "source": _p("diff property", "source"),
    "target": _p("diff property", "target"),
    "decision": _p("diff property", "decision"),
    "result variable": _p("diff property", "result variable"),
    "decision result": _p("diff property", "decision result"),
    "called process": _p("diff property", "called process"),
    "form key": _p("diff property", "form key"),
    "attached to": _p("diff property", "attached to"),
    "interrupting": _p("diff property", "interrupting"),
    "event subprocess": _p("diff property", "event subprocess"),
    "executable": _p("diff property", "executable"),
    "process": _p("diff property", "process"),
    "hit policy": _p("diff property", "hit policy"),
    "aggregation": _p("diff property", "aggregation"),
    "rule order": _p("diff property", "rule order"),
    "description": _p("diff property", "description"),
}

TYPES = {
    "process": _p("element", "Process"),
    "participant": _p("element", "Pool"),
    "lane": _p("element", "Lane"),
    "messageFlow": _p("element", "Message flow"),
    "sequenceFlow": _p("element", "Sequence flow"),
    "startEvent": _p("element", "Start event"),
    "endEvent": _p("element", "End event"),
    "boundaryEvent": _p("element", "Boundary event"),
    "intermediateCatchEvent": _p("element", "Intermediate catch event"),
    "intermediateThrowEvent": _p("element", "Intermediate throw event"),
    "task": _p("element", "Task"),
    "userTask": _p("element", "User task"),
    "manualTask": _p("element", "Manual task"),
    "serviceTask": _p("element", "Service task"),
    "scriptTask": _p("element", "Script task"),
    "sendTask": _p("element", "Send task"),
    "receiveTask": _p("element", "Receive task"),
    "businessRuleTask": _p("element", "Business rule task"),
    "callActivity": _p("element", "Call activity"),
    "subProcess": _p("element", "Subprocess"),
    "exclusiveGateway": _p("element", "Exclusive gateway"),
    "parallelGateway": _p("element", "Parallel gateway"),
    "inclusiveGateway": _p("element", "Inclusive gateway"),
    "eventBasedGateway": _p("element", "Event-based gateway"),
    "textAnnotation": _p("element", "Text annotation"),
    "association": _p("element", "Association"),
}


def property_label(name: str) -> str:
    """A changed property's name as the page shows it: ``form field amount`` and a decision
    table's ``input amount``/``output needs_legal`` keep their id or column."""
    if name in PROPERTIES:
        return str(PROPERTIES[name])
    if name.startswith("form field "):
        return pgettext("diff property", "form field %(id)s", id=name.removeprefix("form field "))
    if name.startswith("input "):
        return pgettext("diff property", "input %(id)s", id=name.removeprefix("input "))
    if name.startswith("output "):
        return pgettext("diff property", "output %(id)s", id=name.removeprefix("output "))
    return name


def type_label(kind: str) -> str:
    """An element's type (its BPMN local name) as the page shows it."""
    return str(TYPES[kind]) if kind in TYPES else kind
