"""Reading DMN files (1.1 to 1.3, as Camunda Modeler writes them): their decision tables, with
every problem and its line; the tables themselves are :mod:`processes.flows.dmn`'s."""

from __future__ import annotations

from typing import Any

from lxml import etree

from processes.errors import Problem, msg
from processes.flows.dmn import DecisionTable, build_table
from processes.flows.safe_xml import parse_safely

DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3: Camunda Modeler 4.x and later
    "http://www.omg.org/spec/DMN/20180521/MODEL/",  # DMN 1.2
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1: older Camunda Modelers
)


def parse_dmn(name: str, data: bytes, max_bytes: int
              ) -> tuple[dict[str, DecisionTable | None], list[Problem]]:
    """Read one DMN file safely: its decision tables by decision id, and every problem."""
    root, problems = parse_safely(name, data, max_bytes, "DMN")
    if root is None:
        return {}, problems
    return read_decisions(root, name)


def _language_ok(element: Any, *allowed: str) -> bool:
    language = (element.get("expressionLanguage") or "feel").lower()
    return any(a in language for a in allowed)


def is_dmn_file(name: str) -> bool:
    """DMN files travel with the BPMN of a deployment, told apart by their ``.dmn`` name."""
    return name.lower().endswith(".dmn")


def read_decisions(root: Any, name: str | None
                   ) -> tuple[dict[str, DecisionTable | None], list[Problem]]:
    """The decision tables of a parsed DMN document by decision id (None for one that has
    problems), and every problem found."""
    qname = etree.QName(root)
    if qname.localname != "definitions" or qname.namespace not in DMN_NAMESPACES:
        return {}, [Problem(msg("not a DMN file: the root element must be the definitions of "
                                "DMN 1.1, 1.2 or 1.3"), line=root.sourceline, file=name)]
    ns = "{" + qname.namespace + "}"
    tables: dict[str, DecisionTable | None] = {}
    problems: list[Problem] = []
    decisions = root.findall(f"{ns}decision")
    if not decisions:
        problems.append(Problem(msg("the DMN file has no decision"), line=root.sourceline,
                                file=name))
    for decision in decisions:
        did = decision.get("id")
        tables[did] = None
        table = decision.find(f"{ns}decisionTable")
        if decision.find(f"{ns}informationRequirement/{ns}requiredDecision") is not None:
            problems.append(Problem(msg("decision '%(decision)s' requires other decisions: "
                                        "Sealflow evaluates single decision tables, not "
                                        "decision graphs", decision=did),
                                    element=did, line=decision.sourceline, file=name))
        elif table is None:
            problems.append(Problem(msg("decision '%(decision)s' is not a decision table "
                                        "(literal expressions are not supported)",
                                        decision=did), element=did,
                                    line=decision.sourceline, file=name))
        else:
            before = len(problems)
            built = build_table(_source(ns, decision, table, problems, name), problems, name)
            tables[did] = built if len(problems) == before else None
    return tables, problems


def _text(ns: str, element: Any) -> tuple[str, int | None]:
    text = element.find(f"{ns}text") if element is not None else None
    if text is None:
        return "", getattr(element, "sourceline", None)
    return text.text or "", text.sourceline


def _source(ns: str, decision: Any, table: Any, problems: list[Problem],
            name: str | None) -> dict:
    """The texts of a decision table, as ``build_table`` compiles them."""
    did = decision.get("id")
    inputs, outputs, rules = [], [], []
    for column in table.findall(f"{ns}input"):
        expression = column.find(f"{ns}inputExpression")
        text, line = _text(ns, expression)
        if expression is not None and not _language_ok(expression, "feel", "juel"):
            problems.append(Problem(msg("decision '%(decision)s': input expression language "
                                        "%(language)s is not supported (FEEL or JUEL)",
                                        decision=did,
                                        language=repr(expression.get("expressionLanguage"))),
                                    element=column.get("id"), line=line, file=name))
        inputs.append({"id": column.get("id"), "label": column.get("label"), "expression": text,
                       "line": line, "type_ref": expression.get("typeRef")
                       if expression is not None else None})
    for column in table.findall(f"{ns}output"):
        outputs.append({"id": column.get("id"), "label": column.get("label"),
                        "name": column.get("name"), "type_ref": column.get("typeRef"),
                        "values": _text(ns, column.find(f"{ns}outputValues"))[0],
                        "line": column.sourceline})
    for rule in table.findall(f"{ns}rule"):
        cells: dict[str, list] = {"inputEntry": [], "outputEntry": []}
        for kind, allowed in (("inputEntry", ("feel",)), ("outputEntry", ("feel", "juel"))):
            for entry in rule.findall(f"{ns}{kind}"):
                cells[kind].append(list(_text(ns, entry)))
                if not _language_ok(entry, *allowed):
                    problems.append(Problem(
                        msg("decision '%(decision)s': rule %(rule)s: %(kind)s language "
                            "%(language)s is not supported", decision=did, rule=rule.get("id"),
                            kind=kind, language=repr(entry.get("expressionLanguage"))),
                        element=rule.get("id"), line=entry.sourceline, file=name))
        annotation = rule.find(f"{ns}description")
        rules.append({"id": rule.get("id"), "line": rule.sourceline,
                      "annotation": annotation.text if annotation is not None else None,
                      "inputs": cells["inputEntry"], "outputs": cells["outputEntry"]})
    return {"decision": did, "name": decision.get("name"), "line": table.sourceline,
            "hit_policy": table.get("hitPolicy"), "aggregation": table.get("aggregation"),
            "inputs": inputs, "outputs": outputs, "rules": rules}
