"""What a designer calls each BPMN element ('user task', 'exclusive gateway'), as messages the
catalogues translate: the deploy checks' findings name an element by its kind and id
(``kind_of``, ``label_of``), and the app puts the kind into the caller's language with the rest."""

from __future__ import annotations

import re
from typing import Any

from processes.errors import Message, msg

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_B = "{" + BPMN_NS + "}"

KINDS: dict[str, Message] = {
    "startEvent": msg("start event"),
    "endEvent": msg("end event"),
    "intermediateCatchEvent": msg("intermediate catch event"),
    "intermediateThrowEvent": msg("intermediate throw event"),
    "boundaryEvent": msg("boundary event"),
    "exclusiveGateway": msg("exclusive gateway"),
    "inclusiveGateway": msg("inclusive gateway"),
    "parallelGateway": msg("parallel gateway"),
    "eventBasedGateway": msg("event based gateway"),
    "complexGateway": msg("complex gateway"),
    "subProcess": msg("subprocess"),
    "transaction": msg("transaction"),
    "adHocSubProcess": msg("ad hoc sub process"),
    "task": msg("task"),
    "userTask": msg("user task"),
    "manualTask": msg("manual task"),
    "serviceTask": msg("service task"),
    "sendTask": msg("send task"),
    "receiveTask": msg("receive task"),
    "businessRuleTask": msg("business rule task"),
    "scriptTask": msg("script task"),
    "callActivity": msg("call activity"),
    "process": msg("process"),
    "sequenceFlow": msg("sequence flow"),
    "messageFlow": msg("message flow"),
    "association": msg("association"),
    "lane": msg("lane"),
    "laneSet": msg("lane set"),
    "participant": msg("participant"),
    "collaboration": msg("collaboration"),
    "dataObject": msg("data object"),
    "dataObjectReference": msg("data object reference"),
    "dataStoreReference": msg("data store reference"),
    "textAnnotation": msg("text annotation"),
    "message": msg("message"),
    "signal": msg("signal"),
    "error": msg("error"),
    "escalation": msg("escalation"),
}
EVENT_SUBPROCESS = msg("event subprocess")
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}


def tag_of(el: Any) -> str:
    """The element's BPMN tag without its namespace ('' for another namespace or a comment)."""
    tag = el.tag if isinstance(el.tag, str) else ""
    return tag[len(_B):] if tag.startswith(_B) else ""


def is_event_subprocess(el: Any) -> bool:
    return tag_of(el) in SUBPROCESSES and el.get("triggeredByEvent") == "true"


def kind_of(el: Any) -> str:
    """'user task', 'exclusive gateway', 'subprocess', ... (how a designer names the tag); a
    tag not listed in KINDS as its words, untranslated."""
    tag = tag_of(el)
    if tag == "subProcess" and is_event_subprocess(el):
        return EVENT_SUBPROCESS
    return KINDS.get(tag) or re.sub(r"(?<!^)([A-Z])", lambda m: " " + m.group(1).lower(), tag)


def label_of(el: Any) -> Message:
    """"process 'p'", "subprocess 'sub'": an element by its kind and id."""
    return msg("%(kind)s '%(id)s'", kind=kind_of(el), id=el.get("id"))
