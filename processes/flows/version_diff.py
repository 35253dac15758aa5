"""What changed between two versions of a flow, as a designer sees it on the diagram: elements
added, removed and changed (by BPMN id), each change named as the modeler names the property
(name, type, assignee, candidate groups, form fields, conditions, due dates, timers,
multi-instance, ``seal_action``, ``outcome``, incoming and outgoing flows, lane...), and the
decision tables changed (hit policy, inputs, outputs, rules added, removed and changed).

Layout (the diagram's shapes and their positions) is not a change. The comparison reads the
stored files' XML with the project's safe parser; it is deterministic: elements are sorted by
id, an element's properties name, type, then alphabetically. ``processes.requests.migration``
compares the executable specs instead (what an instance can move across); this is the view."""

from __future__ import annotations

from typing import Any

from lxml import etree
from sqlalchemy.orm import Session

from processes.errors import BadInput, msg
from processes.flows import definitions
from processes.flows.bpmn import BPMN_NS
from processes.flows.dmn_xml import DMN_NAMESPACES, is_dmn_file
from processes.flows.safe_xml import safe_parser
from processes.limits import INT_MAX

_B = "{" + BPMN_NS + "}"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
_C = "{" + CAMUNDA_NS + "}"

# Attributes in the modeler's words; any other attribute keeps its own name.
_WORDS = {"candidateGroups": "candidate groups", "candidateUsers": "candidate users",
          "dueDate": "due date", "followUpDate": "follow-up date", "default": "default flow",
          "sourceRef": "source", "targetRef": "target", "decisionRef": "decision",
          "resultVariable": "result variable", "mapDecisionResult": "decision result",
          "calledElement": "called process", "formKey": "form key",
          "attachedToRef": "attached to", "cancelActivity": "interrupting",
          "triggeredByEvent": "event subprocess", "isExecutable": "executable",
          "processRef": "process"}
# Elements of a scope that are parts of their parent, not elements of the diagram.
_PARTS = {"incoming", "outgoing", "laneSet", "documentation", "extensionElements",
          "flowNodeRef", "childLaneSet", "ioSpecification", "property", "dataInputAssociation",
          "dataOutputAssociation", "multiInstanceLoopCharacteristics",
          "standardLoopCharacteristics"}
_SCOPES = {"process", "subProcess", "transaction", "adHocSubProcess"}
_FIRST = ("name", "type")

Properties = dict[str, str | None]


# -- the versions --------------------------------------------------------------------------------

def between(session: Session, key: str, from_version: int, to_version: int) -> dict[str, Any]:
    """The diff of two deployed versions of ``key`` (BadInput: not two distinct versions,
    NotFound: no such key or version)."""
    for number in (from_version, to_version):
        if not 1 <= number <= INT_MAX:
            raise BadInput(msg("versions are positive integers (64-bit)"))
    if from_version == to_version:
        raise BadInput(msg("from and to are both version %(from_version)s: choose two versions",
                           from_version=from_version))
    old = definitions.version(session, key, from_version)
    new = definitions.version(session, key, to_version)
    return {"key": key, "from": from_version, "to": to_version, **compare(old.files, new.files)}


def compare(old_files: dict[str, str], new_files: dict[str, str]) -> dict[str, Any]:
    """``{added, removed, changed, decisions}`` between two deployments' files (text)."""
    old, new = _bpmn_elements(old_files), _bpmn_elements(new_files)
    changed = []
    for eid in sorted(set(old) & set(new)):
        properties = _changes(old[eid], new[eid])
        if properties:
            changed.append({**_brief(eid, new[eid]), "properties": properties})
    return {"added": [_brief(eid, new[eid]) for eid in sorted(set(new) - set(old))],
            "removed": [_brief(eid, old[eid]) for eid in sorted(set(old) - set(new))],
            "changed": changed,
            "decisions": _decision_changes(_decisions(old_files), _decisions(new_files))}


def _brief(eid: str, props: Properties) -> dict[str, Any]:
    return {"id": eid, "type": props["type"], "name": props.get("name")}


def _changes(before: Properties, after: Properties) -> list[dict[str, Any]]:
    names = sorted(set(before) | set(after), key=lambda n: (n not in _FIRST,
                                                            _FIRST.index(n) if n in _FIRST else 0,
                                                            n))
    return [{"name": n, "before": before.get(n), "after": after.get(n)}
            for n in names if before.get(n) != after.get(n)]


def _roots(files: dict[str, str], dmn: bool) -> list[Any]:
    return [etree.fromstring(files[name].encode("utf-8"), safe_parser())
            for name in sorted(files) if is_dmn_file(name) == dmn]


def _local(el: Any) -> str:
    return etree.QName(el).localname


def _text(el: Any | None) -> str | None:
    if el is None:
        return None
    return " ".join("".join(el.itertext()).split()) or None


def _canonical(el: Any) -> str:
    """One element in a line: its name, attributes, text and children, for a part that has
    no designer's words of its own (a listener, an input/output mapping...)."""
    attrs = ", ".join(f"{etree.QName(k).localname}={v}" for k, v in sorted(el.attrib.items()))
    inner = [_canonical(c) for c in el if isinstance(c.tag, str)]
    text = (el.text or "").strip()
    return (_local(el) + (f"({attrs})" if attrs else "") + (f" {text}" if text else "")
            + (" [" + "; ".join(inner) + "]" if inner else ""))


# -- BPMN ------------------------------------------------------------------------------------------

def _bpmn_elements(files: dict[str, str]) -> dict[str, Properties]:
    """Every element of the flow's diagram by id: processes, their flow elements (subprocesses'
    included), lanes, participants and message flows, each with its properties."""
    found: dict[str, Properties] = {}
    for root in _roots(files, dmn=False):
        messages = {m.get("id"): m.get("name") or m.get("id")
                    for m in root.iter(f"{_B}message", f"{_B}signal", f"{_B}error")}
        for collaboration in root.iter(f"{_B}collaboration"):
            for el in collaboration:
                if isinstance(el.tag, str) and el.get("id") and _local(el) not in _PARTS:
                    found.setdefault(el.get("id"), _properties(el, messages))
        for process in root.iter(f"{_B}process"):
            _scope(process, found, messages)
    return found


def _scope(scope: Any, found: dict[str, Properties], messages: dict[str, str]) -> None:
    if scope.get("id"):
        found.setdefault(scope.get("id"), _properties(scope, messages))
    lanes: dict[str, list[str]] = {}
    for lane in scope.iter(f"{_B}lane"):
        if lane.get("id"):
            found.setdefault(lane.get("id"), _properties(lane, messages))
            for ref in lane.findall(f"{_B}flowNodeRef"):
                lanes.setdefault((ref.text or "").strip(), []).append(
                    lane.get("name") or lane.get("id"))
    flows: dict[str, dict[str, list[str]]] = {}
    for flow in scope.findall(f"{_B}sequenceFlow"):
        for end, side in (("sourceRef", "outgoing"), ("targetRef", "incoming")):
            flows.setdefault(flow.get(end) or "", {}).setdefault(side, []).append(
                flow.get("id") or "")
    for el in scope:
        if not isinstance(el.tag, str) or not el.get("id") or _local(el) in _PARTS:
            continue
        props = _properties(el, messages)
        for side, ids in flows.get(el.get("id"), {}).items():
            props[side] = ", ".join(sorted(ids))
        if el.get("id") in lanes:
            props["lane"] = ", ".join(sorted(lanes[el.get("id")]))
        found.setdefault(el.get("id"), props)
        if _local(el) in _SCOPES:
            _scope(el, found, messages)


def _properties(el: Any, messages: dict[str, str]) -> Properties:
    props: Properties = {"type": _local(el), "name": el.get("name")}
    for attr, value in el.attrib.items():
        local = etree.QName(attr).localname
        if local not in ("id", "name"):
            props[_WORDS.get(local, local)] = value
    for child in el:
        if not isinstance(child.tag, str) or (child.get("id") and _local(el) in _SCOPES
                                              and _local(child) not in _PARTS):
            continue  # an element of its own (inside a subprocess), compared by itself
        _child_properties(child, props, messages)
    return props


def _child_properties(child: Any, props: Properties, messages: dict[str, str]) -> None:
    kind = _local(child)
    if kind in ("incoming", "outgoing", "flowNodeRef", "childLaneSet", "laneSet"):
        return  # incoming and outgoing come from the sequence flows; lanes are elements
    if kind == "documentation":
        props["documentation"] = _text(child)
    elif kind == "conditionExpression":
        props["condition"] = _text(child)
    elif kind == "extensionElements":
        for ext in child:
            if isinstance(ext.tag, str):
                _extension(ext, props)
    elif kind == "timerEventDefinition":
        timer = next((c for c in child if isinstance(c.tag, str)), None)
        props["timer"] = f"{_local(timer)} {_text(timer)}" if timer is not None else "timer"
    elif kind.endswith("EventDefinition"):
        ref = next((v for k, v in child.attrib.items() if k.endswith("Ref")), None)
        props["event"] = kind.removesuffix("EventDefinition") + (
            f": {messages.get(ref, ref)}" if ref else "")
    elif kind == "multiInstanceLoopCharacteristics":
        props["multi-instance"] = _multi_instance(child)
    elif kind == "text":
        props["text"] = _text(child)
    else:
        props[kind] = _canonical(child)


def _extension(ext: Any, props: Properties) -> None:
    kind = _local(ext)
    if kind == "formData":
        for field in ext.findall(f"{_C}formField"):
            props[f"form field {field.get('id')}"] = _form_field(field)
    elif kind == "properties":
        for prop in ext.findall(f"{_C}property"):
            props[prop.get("name") or "property"] = prop.get("value")
    else:
        props[kind] = _canonical(ext)


def _form_field(field: Any) -> str:
    """``label · type · required, readonly · values a, b · default x`` for one form field."""
    parts = [field.get("label") or "", field.get("type") or ""]
    constraints = [c.get("name") + (f"={c.get('config')}" if c.get("config") else "")
                   for c in field.iter(f"{_C}constraint") if c.get("name")]
    if constraints:
        parts.append(", ".join(constraints))
    values = [v.get("id") or "" for v in field.findall(f"{_C}value")]
    if values:
        parts.append("values " + ", ".join(values))
    if field.get("defaultValue"):
        parts.append("default " + field.get("defaultValue"))
    for prop in field.iter(f"{_C}property"):
        parts.append(f"{prop.get('id') or prop.get('name')}={prop.get('value')}")
    return " · ".join(p for p in parts if p)


def _multi_instance(mi: Any) -> str:
    parts = ["sequential" if mi.get("isSequential") == "true" else "parallel"]
    for attr, value in sorted(mi.attrib.items()):
        local = etree.QName(attr).localname
        if local not in ("id", "isSequential"):
            parts.append(f"{local} {value}")
    for child in mi:
        if isinstance(child.tag, str):
            parts.append(f"{_local(child)} {_text(child)}")
    return " · ".join(parts)


# -- DMN -------------------------------------------------------------------------------------------

def _decisions(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every decision table by decision id: its properties and its rules by id, in order."""
    found: dict[str, dict[str, Any]] = {}
    for root in _roots(files, dmn=True):
        namespace = etree.QName(root).namespace
        if namespace not in DMN_NAMESPACES:
            continue
        ns = "{" + namespace + "}"
        for decision in root.findall(f"{ns}decision"):
            props: Properties = {"name": decision.get("name")}
            table = decision.find(f"{ns}decisionTable")
            rules = _table(ns, table, props) if table is not None else {}
            found.setdefault(decision.get("id") or "", {"props": props, "rules": rules})
    return found


def _table(ns: str, table: Any, props: Properties) -> dict[str, Properties]:
    """A decision table's hit policy and columns into ``props``; its rules by id, each by
    column (an input by its expression, an output as ``→ name``)."""
    props["hit policy"] = table.get("hitPolicy") or "UNIQUE"
    if table.get("aggregation"):
        props["aggregation"] = table.get("aggregation")
    inputs, outputs = [], []
    for i, col in enumerate(table.findall(f"{ns}input")):
        expression = col.find(f"{ns}inputExpression")
        text = _text(expression.find(f"{ns}text")) if expression is not None else None
        type_ref = expression.get("typeRef") if expression is not None else None
        inputs.append(text or col.get("label") or f"input {i + 1}")
        props[f"input {inputs[-1]}"] = " · ".join(
            p for p in (col.get("label"), text, type_ref) if p)
    for i, col in enumerate(table.findall(f"{ns}output")):
        outputs.append(col.get("name") or col.get("label") or f"output {i + 1}")
        props[f"output {outputs[-1]}"] = " · ".join(
            p for p in (col.get("label"), col.get("name"), col.get("typeRef")) if p)
    rules: dict[str, Properties] = {}
    for i, rule in enumerate(table.findall(f"{ns}rule")):
        entries: Properties = {"description": _text(rule.find(f"{ns}description"))}
        for column, entry in zip(inputs, rule.findall(f"{ns}inputEntry"), strict=False):
            entries[column] = _text(entry.find(f"{ns}text")) or "-"
        for column, entry in zip(outputs, rule.findall(f"{ns}outputEntry"), strict=False):
            entries[f"→ {column}"] = _text(entry.find(f"{ns}text"))
        rules[rule.get("id") or f"rule {i + 1}"] = entries
    return rules


def _rule_summary(entries: Properties) -> str:
    """``amount > 500000 · seal_type "公章" → needs_legal true``."""
    tests = [f"{c} {v}" for c, v in entries.items()
             if c != "description" and not c.startswith("→ ") and v != "-"]
    results = [f"{c[2:]} {v}" for c, v in entries.items() if c.startswith("→ ")]
    return " · ".join(tests or ["-"]) + " → " + ", ".join(results)


def _decision_changes(old: dict[str, dict[str, Any]],
                      new: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for did in sorted(set(old) | set(new)):
        if did not in old or did not in new:
            result.append({"id": did, "name": (new.get(did) or old[did])["props"]["name"],
                           "change": "added" if did in new else "removed", "properties": [],
                           "rules": {"added": [], "removed": [], "changed": []}})
            continue
        before, after = old[did], new[did]
        properties = _changes(before["props"], after["props"])
        old_rules, new_rules = before["rules"], after["rules"]
        kept = [r for r in old_rules if r in new_rules]
        if kept != [r for r in new_rules if r in old_rules]:
            properties.append({"name": "rule order", "before": ", ".join(kept),
                               "after": ", ".join(r for r in new_rules if r in old_rules)})
        rules = {
            "added": [{"id": r, "summary": _rule_summary(new_rules[r])}
                      for r in new_rules if r not in old_rules],
            "removed": [{"id": r, "summary": _rule_summary(old_rules[r])}
                        for r in old_rules if r not in new_rules],
            "changed": [{"id": r, "properties": _changes(old_rules[r], new_rules[r])}
                        for r in kept if old_rules[r] != new_rules[r]]}
        if properties or any(rules.values()):
            result.append({"id": did, "name": after["props"]["name"], "change": "changed",
                           "properties": properties, "rules": rules})
    return result
