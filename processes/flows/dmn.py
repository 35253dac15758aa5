"""DMN decision tables as Camunda Modeler and dmn-js write them (DMN 1.3, or 1.1/1.2 from older
modelers): read safely, every cell compiled at deploy time, evaluated without Python eval.

Input entries are FEEL unary tests, the subset the editors write: ``-``, ``< 5``, ``[1..10]``,
``]1..10[``, ``"a","b"``, ``not("x")``, ``null``, ``date("2026-01-01")``. Input expressions and
output entries that are not FEEL literals are Sealflow's safe expressions (flows.expressions).
Hit policies: UNIQUE, FIRST, PRIORITY, ANY, COLLECT (+ SUM, MIN, MAX, COUNT), RULE ORDER,
OUTPUT ORDER. A table that cannot give a result raises DmnError, which stops the instance with an
incident naming the business rule task.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from processes.errors import Message, Problem, msg
from processes.flows.expression_budget import shared_work
from processes.flows.expressions import ExpressionError, compile_expression, evaluate
from processes.flows.feel import (
    DmnError,
    Parser,
    Test,
    Value,
    coerce,
    compile_output,
    compile_unary_tests,
    kind_of,
)

HIT_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER")
SINGLE_HIT = ("UNIQUE", "FIRST", "PRIORITY", "ANY")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
RESULT_MAPPINGS = ("resultList", "singleResult", "singleEntry", "collectEntries")


# -- the decision table model -----------------------------------------------------------------

@dataclass(frozen=True)
class Input:
    id: str
    label: str
    expression: str
    type_ref: str | None


@dataclass(frozen=True)
class Output:
    id: str
    name: str
    type_ref: str | None
    priority: tuple[Any, ...]
    """The output values in priority order (``outputValues``), for PRIORITY and OUTPUT ORDER."""


@dataclass(frozen=True)
class Rule:
    id: str
    number: int
    annotation: str | None
    tests: tuple[Test, ...]
    outputs: tuple[Value, ...]


@dataclass(frozen=True)
class DecisionTable:
    """One decision (its id is what ``camunda:decisionRef`` names) and its compiled table."""

    decision_id: str
    name: str
    hit_policy: str
    aggregation: str | None
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    rules: tuple[Rule, ...]
    source: dict = field(compare=False, repr=False)
    """The cell texts it was compiled from (``to_dict``/``table_from_dict``)."""

    def to_dict(self) -> dict:
        return self.source

    def evaluate(self, variables: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The result as Camunda gives it: one dict of outputs per hit, after the hit policy
        (an aggregation gives one dict with the number, or none when nothing was summed).
        Its cells' evaluations share one expression budget."""
        with shared_work():
            return self._evaluate(variables)

    def hits(self, variables: Mapping[str, Any]) -> list[Rule]:
        """The rules whose input entries match (what a dry run shows), before the hit policy
        picks among them; FIRST: the first only."""
        with shared_work():
            values = [self._input(column, variables) for column in self.inputs]
            matched = [rule for rule in self.rules if self._matches(rule, values, variables)]
        return matched[:1] if self.hit_policy == "FIRST" else matched

    def _evaluate(self, variables: Mapping[str, Any]) -> list[dict[str, Any]]:
        values = [self._input(column, variables) for column in self.inputs]
        matched = [rule for rule in self.rules if self._matches(rule, values, variables)]
        if not matched and self.hit_policy in SINGLE_HIT:
            shown = ", ".join(f"{c.expression}={v!r}" for c, v in zip(self.inputs, values,
                                                                         strict=True))
            raise DmnError(msg("DMN table '%(table)s' has no rule matching %(inputs)s",
                               table=self.decision_id, inputs=shown))
        if self.hit_policy == "UNIQUE" and len(matched) > 1:
            raise DmnError(msg("DMN table '%(table)s' has hit policy UNIQUE but %(count)s rules "
                               "match: %(rules)s", table=self.decision_id, count=len(matched),
                               rules=", ".join(r.id for r in matched)))
        if self.hit_policy == "FIRST":
            matched = matched[:1]
        rows = [self._outputs(rule, variables) for rule in matched]
        if self.hit_policy == "ANY":
            if any(row != rows[0] for row in rows):
                raise DmnError(msg("DMN table '%(table)s' has hit policy ANY but rules "
                                   "%(rules)s give different outputs", table=self.decision_id,
                                   rules=", ".join(r.id for r in matched)))
            rows = rows[:1]
        if self.hit_policy in ("PRIORITY", "OUTPUT ORDER"):
            rows.sort(key=self._rank)
            rows = rows[:1] if self.hit_policy == "PRIORITY" else rows
        return self._aggregate(rows) if self.aggregation else rows

    def decide(self, variables: Mapping[str, Any]) -> Any:
        """The result by hit policy: one value (or dict, for several outputs) for a single-hit
        policy, a list of them for COLLECT and the orders, a number for an aggregation."""
        rows = self.evaluate(variables)
        if self.aggregation:
            return rows[0][self.outputs[0].name] if rows else None
        shaped = [next(iter(r.values())) if len(self.outputs) == 1 else r for r in rows]
        return shaped[0] if self.hit_policy in SINGLE_HIT else shaped

    def _input(self, column: Input, variables: Mapping[str, Any]) -> Any:
        try:
            return coerce(evaluate(column.expression, dict(variables)), column.type_ref)
        except ExpressionError as exc:
            raise DmnError(msg("DMN table '%(table)s', input '%(input)s': %(detail)s",
                               table=self.decision_id, input=column.label,
                               detail=exc.message)) from None

    def _matches(self, rule: Rule, values: list[Any], variables: Mapping[str, Any]) -> bool:
        for column, test, value in zip(self.inputs, rule.tests, values, strict=True):
            try:
                if not test(value, variables):
                    return False
            except DmnError as exc:
                raise DmnError(msg("DMN table '%(table)s', rule %(rule)s, input '%(input)s': "
                                   "%(detail)s", table=self.decision_id, rule=rule.id,
                                   input=column.label, detail=exc.message)) from None
        return True

    def _outputs(self, rule: Rule, variables: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return {o.name: _plain(f(variables))
                    for o, f in zip(self.outputs, rule.outputs, strict=True)}
        except ExpressionError as exc:
            raise DmnError(msg("DMN table '%(table)s', rule %(rule)s: %(detail)s",
                               table=self.decision_id, rule=rule.id,
                               detail=exc.message)) from None

    def _rank(self, row: dict[str, Any]) -> tuple[int, ...]:
        return tuple(o.priority.index(row[o.name]) if row[o.name] in o.priority
                     else len(o.priority) for o in self.outputs if o.priority)

    def _aggregate(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        name = self.outputs[0].name
        values = [row[name] for row in rows if row[name] is not None]
        if self.aggregation == "COUNT":
            return [{name: len(values)}]
        if not values:
            return []
        if any(kind_of(v) != "number" for v in values):
            raise DmnError(msg("DMN table '%(table)s': COLLECT %(aggregation)s needs numbers, "
                               "got %(values)s", table=self.decision_id,
                               aggregation=self.aggregation, values=repr(values)))
        combine: dict[str | None, Callable[[list[Any]], Any]] = {"SUM": sum, "MIN": min,
                                                                 "MAX": max}
        total = combine[self.aggregation](values)
        return [{name: total}]


def _plain(value: Any) -> Any:
    """An output value as task data can hold it (JSON: tuples become lists)."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    raise DmnError(msg("an output gave %(value)s, which a process variable cannot hold",
                       value=repr(value)))


def map_result(rows: list[dict[str, Any]], mapping: str | None, decision_id: str) -> Any:
    """The value a business rule task stores (``camunda:mapDecisionResult``, default
    resultList): the rows, one row's dict, its single value, or a single output's values."""
    mapping = mapping or "resultList"
    if mapping == "resultList":
        return rows
    if any(len(row) != 1 for row in rows) and mapping in ("singleEntry", "collectEntries"):
        raise DmnError(msg("%(mapping)s needs one output per result, but decision "
                           "'%(decision)s' gives several", mapping=mapping, decision=decision_id))
    if mapping == "collectEntries":
        return [next(iter(row.values())) for row in rows]
    if len(rows) > 1:
        raise DmnError(msg("%(mapping)s needs at most one result, but decision '%(decision)s' "
                           "gave %(count)s", mapping=mapping, decision=decision_id,
                           count=len(rows)))
    if not rows:
        return None
    return rows[0] if mapping == "singleResult" else next(iter(rows[0].values()))


# -- compiling a table, reading DMN XML -------------------------------------------------------

def _literal_list(text: str) -> tuple[Any, ...]:
    """``outputValues`` such as ``"high","low"``: literals only."""
    parser, values = Parser(text), []
    while True:
        is_literal, value = parser.literal()
        if not is_literal:
            raise DmnError(msg('output values %(values)s must be literals such as "high","low"',
                               values=repr(text.strip())))
        values.append(value.isoformat() if isinstance(value, datetime.date) else value)
        if parser.peek() != ",":
            break
        parser.pos += 1
    parser.done()
    return tuple(values)


def build_table(src: dict, problems: list[Problem], file: str | None = None
                ) -> DecisionTable | None:
    """Compile a table from its texts (see ``_source``); each bad cell is a problem with the
    rule id and line. None when there was any problem."""
    start = len(problems)

    def problem(message: Message, element: str | None, line: int | None) -> None:
        problems.append(Problem(msg("decision '%(decision)s': %(detail)s",
                                    decision=src["decision"], detail=message),
                                element=element, line=line, file=file))

    policy = (src.get("hit_policy") or "UNIQUE").upper().replace("_", " ")
    aggregation = (src.get("aggregation") or "").upper() or None
    if policy not in HIT_POLICIES:
        problem(msg("unknown hit policy %(policy)s", policy=repr(policy)), src["decision"],
                src.get("line"))
    if aggregation and (policy != "COLLECT" or aggregation not in AGGREGATIONS):
        problem(msg("aggregation %(aggregation)s needs hit policy COLLECT and one of "
                    "%(aggregations)s", aggregation=aggregation,
                    aggregations=", ".join(AGGREGATIONS)), src["decision"], src.get("line"))
    inputs = []
    for raw in src["inputs"]:
        expression = (raw.get("expression") or "").strip()
        label = raw.get("label") or expression or raw["id"]
        try:
            compile_expression(expression)
        except ExpressionError as exc:
            problem(msg("input '%(input)s': %(detail)s", input=label, detail=exc.message),
                    raw["id"], raw.get("line"))
        inputs.append(Input(raw["id"], label, expression, raw.get("type_ref")))
    outputs = []
    for raw in src["outputs"]:
        name = raw.get("name") or (raw["id"] if len(src["outputs"]) == 1 else None)
        if not name:
            problem(msg("output '%(output)s' has no name: with several outputs each needs one",
                        output=raw.get("label") or raw["id"]), raw["id"], raw.get("line"))
        priority: tuple[Any, ...] = ()
        if (raw.get("values") or "").strip():
            try:
                priority = _literal_list(raw["values"])
            except DmnError as exc:
                problem(_message(exc.message), raw["id"], raw.get("line"))
        outputs.append(Output(raw["id"], name or raw["id"], raw.get("type_ref"), priority))
    if len({o.name for o in outputs}) != len(outputs):
        problem(msg("two outputs have the same name"), src["decision"], src.get("line"))
    if not outputs:
        problem(msg("the table has no output"), src["decision"], src.get("line"))
    if aggregation and len(outputs) != 1:
        problem(msg("COLLECT %(aggregation)s needs exactly one output",
                    aggregation=aggregation), src["decision"], src.get("line"))
    if policy in ("PRIORITY", "OUTPUT ORDER") and not any(o.priority for o in outputs):
        problem(msg('hit policy %(policy)s needs output values (such as "high","low") to rank '
                    "outputs", policy=policy), src["decision"], src.get("line"))
    rules = []
    for number, raw in enumerate(src["rules"], 1):
        if len(raw["inputs"]) != len(inputs) or len(raw["outputs"]) != len(outputs):
            problem(msg("rule %(rule)s (row %(row)s) has %(inputs)s input and %(outputs)s "
                        "output entries for %(columns)s inputs and %(results)s outputs",
                        rule=raw["id"], row=number, inputs=len(raw["inputs"]),
                        outputs=len(raw["outputs"]), columns=len(inputs),
                        results=len(outputs)), raw["id"], raw.get("line"))
            continue
        tests, values = [], []
        for (text, line), column in zip(raw["inputs"], inputs, strict=True):
            try:
                tests.append(compile_unary_tests(text))
            except DmnError as exc:
                problem(msg("rule %(rule)s (row %(row)s), input '%(input)s': %(detail)s",
                            rule=raw["id"], row=number, input=column.label,
                            detail=exc.message), raw["id"], line)
        for (text, line), out in zip(raw["outputs"], outputs, strict=True):
            try:
                is_literal, value, fn = compile_output(text)
            except DmnError as exc:
                problem(msg("rule %(rule)s (row %(row)s), output '%(output)s': %(detail)s",
                            rule=raw["id"], row=number, output=out.name,
                            detail=exc.message), raw["id"], line)
                continue
            if is_literal and out.priority and value is not None and value not in out.priority:
                problem(msg("rule %(rule)s (row %(row)s), output '%(output)s': %(value)s is "
                            "not one of its output values %(values)s", rule=raw["id"],
                            row=number, output=out.name, value=repr(value),
                            values=str(list(out.priority))), raw["id"], line)
            values.append(fn)
        rules.append(Rule(raw["id"], number, raw.get("annotation"), tuple(tests),
                          tuple(values)))
    if len(problems) > start:
        return None
    return DecisionTable(src["decision"], src.get("name") or src["decision"], policy,
                         aggregation, tuple(inputs), tuple(outputs), tuple(rules), src)


def _message(text: str) -> Message:
    """A raised error's message as a Message (one raised as plain text is its own key)."""
    return text if isinstance(text, Message) else Message(text)


def table_from_dict(src: dict) -> DecisionTable:
    """The inverse of ``DecisionTable.to_dict`` (compiles again)."""
    problems: list[Problem] = []
    table = build_table(src, problems)
    if table is None:
        raise DmnError(problems[0].message)
    return table
