"""Rules of a UNIQUE decision table that can match the same input: found at deploy time by
trying, column by column, values at and between the literals the column's cells name (the
cells' truth only changes there), so every overlap reported is real, with the input that shows
it. Cells that name variables are never claimed to overlap: their values are not known yet.

A warning, not a refusal: the engine already stops a request whose input hits two rules with an
incident naming the rules, and flows deployed before this check keep deploying."""

from __future__ import annotations

import datetime
from typing import Any

from processes.errors import Message, Problem, msg
from processes.flows.dmn import DecisionTable
from processes.flows.feel import DmnError, Parser, Test

MAX_RULES = 300
"""Past this many rules a table is not searched for overlaps (pairs grow with the square)."""
_FRESH = "\uffff(any other text)"
"""A string no cell names: what a ``not("x")`` or ``-`` cell accepts beyond the literals."""


def _literals(text: str) -> list[Any]:
    """The literal values a (compiled, so well-formed) cell names."""
    if not text.strip():
        return []
    parser, found = Parser(text), []
    for pos in range(len(parser.toks)):
        parser.pos = pos
        try:
            is_literal, value = parser.literal()
        except DmnError:
            continue
        if is_literal:
            found.append(value)
    return found


def _candidates(literals: list[Any], type_ref: str | None) -> list[Any]:
    """Values at, between and beyond the literals, one per region where a cell's truth holds,
    of the column's type when it has one. (Null aside: two ``not(...)`` cells both accept it,
    and no form sends it for a typed input.)"""
    kinds = {"number": ("number", "integer", "long", "double"), "string": ("string",),
             "boolean": ("boolean",), "date": ("date", "dateTime")}
    wanted = {kind for kind, refs in kinds.items() if not type_ref or type_ref in refs}
    out: list[Any] = []
    numbers = sorted({v for v in literals if isinstance(v, (int, float))
                      and not isinstance(v, bool)})
    if numbers and "number" in wanted:
        out += numbers + [_between(a, b) for a, b in zip(numbers, numbers[1:], strict=False)]
        out += [numbers[0] - 1, numbers[-1] + 1]
    if "string" in wanted:
        out += sorted({v for v in literals if isinstance(v, str)}) + [_FRESH]
    if "boolean" in wanted:
        out += [True, False]
    for day in sorted({v for v in literals if isinstance(v, datetime.date)}):
        if "date" in wanted:
            step = datetime.timedelta(seconds=1) if isinstance(day, datetime.datetime) else \
                datetime.timedelta(days=1)
            out += [day, day - step, day + step]
    return out or [True, False, _FRESH]


def _between(low: float, high: float) -> float:
    """A number strictly between two (a whole one where there is room: easier to read)."""
    whole = isinstance(low, int) and isinstance(high, int) and high - low > 1
    return (low + high) // 2 if whole else (low + high) / 2


def _holds(test: Test, value: Any) -> bool:
    try:
        return test(value, {})
    except DmnError:  # another kind of value, or a variable: not a match we can claim
        return False


def _shown(value: Any) -> str:
    return msg("any other text") if value == _FRESH else repr(value)


def _listed(parts: list[Message]) -> Message | None:
    """``a=1, b=2`` as one Message, so each part's words are translated too."""
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else msg("%(first)s, %(rest)s", first=parts[0],
                                                rest=_listed(parts[1:]))


def unique_overlaps(table: DecisionTable, file: str | None = None) -> list[Problem]:
    """A warning for each pair of rules of a UNIQUE table that one input matches, naming both
    rules (id and row) and the input."""
    if table.hit_policy != "UNIQUE" or len(table.rules) > MAX_RULES:
        return []
    source_rules = table.source["rules"]
    columns = []
    for i, column in enumerate(table.inputs):
        values = _candidates([v for raw in source_rules for v in _literals(raw["inputs"][i][0])],
                             column.type_ref)
        # Bit k of a rule's mask: candidate value k passes the rule's cell in this column.
        masks = [sum(1 << k for k, v in enumerate(values) if _holds(rule.tests[i], v))
                 for rule in table.rules]
        columns.append((values, masks))
    problems = []
    for a, first in enumerate(table.rules):
        for b in range(a + 1, len(table.rules)):
            shared = [masks[a] & masks[b] for _, masks in columns]
            if not all(shared):
                continue
            second = table.rules[b]
            example = _listed([
                msg("%(input)s=%(value)s", input=column.label,
                    value=_shown(values[(both & -both).bit_length() - 1]))
                for column, (values, _), both in zip(table.inputs, columns, shared, strict=True)])
            problems.append(Problem(
                msg("decision '%(decision)s': rules %(first)s (row %(first_row)s) and "
                    "%(second)s (row %(second_row)s) overlap under hit policy UNIQUE: "
                    "%(example)s matches both, and a request with it would stop with an "
                    "incident (make the rules exclusive, or choose hit policy FIRST)",
                    decision=table.decision_id, first=first.id, first_row=first.number,
                    second=second.id, second_row=second.number,
                    example=example or msg("every input")),
                element=second.id, line=source_rules[b].get("line"), severity="warning",
                file=file))
    return problems
