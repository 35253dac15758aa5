"""Overlaps under hit policy UNIQUE, found at deploy: only real ones (each with an input that
matches both rules), never for cells whose values are not known until a request runs."""

from __future__ import annotations

import re

import pytest

from processes.errors import Problem
from processes.flows.dmn import build_table
from processes.flows.dmn_overlaps import unique_overlaps


def _table(cells: list[str], type_ref: str | None = "number", policy: str = "UNIQUE"):
    src = {"decision": "d", "hit_policy": policy,
           "inputs": [{"id": "in", "label": "x", "expression": "x", "type_ref": type_ref}],
           "outputs": [{"id": "out", "name": "r"}],
           "rules": [{"id": f"R{i}", "line": 10 * i, "inputs": [[cell, i]], "outputs": [["1", i]]}
                     for i, cell in enumerate(cells, 1)]}
    problems: list[Problem] = []
    table = build_table(src, problems)
    assert problems == [] and table is not None
    return table


@pytest.mark.parametrize(("cells", "pairs", "example"), [
    (["< 10", ">= 10"], [], None),
    (["< 10", "<= 10"], [("R1", "R2")], "x=9"),
    (["[1..5]", "]5..9]", "> 9"], [], None),
    (["[1..5]", "[5..9]"], [("R1", "R2")], "x=5"),
    (["-", "3"], [("R1", "R2")], "x=3"),
    (["1, 2", "not(1, 2)"], [], None),
    (["> 1.5", "< 1.6"], [("R1", "R2")], "x=1.55"),
])
def test_number_cells(cells, pairs, example):
    found = unique_overlaps(_table(cells))
    assert [re.search(r"rules (\w+) \(row \d\) and (\w+) \(row \d\) overlap", p.message)
            .groups() for p in found] == pairs
    if example:
        assert f": {example} matches both" in found[0].message
        # On the second rule: the one to change, usually.
        assert (found[0].severity, found[0].element, found[0].line) == ("warning", "R2", 20)


def test_string_and_date_cells():
    assert unique_overlaps(_table(['"a"', 'not("a")'], "string")) == []
    [both] = unique_overlaps(_table(['not("a")', 'not("b")'], "string"))
    assert "x=any other text matches both" in both.message
    dates = ['< date("2026-01-01")', '>= date("2026-01-01")']
    assert unique_overlaps(_table(dates, "date")) == []
    assert unique_overlaps(_table(['<= date("2026-01-01")', dates[1]], "date"))


def test_cells_naming_variables_and_other_policies_are_not_judged():
    assert unique_overlaps(_table(["< limit", ">= limit"])) == []
    assert unique_overlaps(_table(["< limit", "< 5"])) == []  # may overlap: not known yet
    assert unique_overlaps(_table(["< 10", "<= 10"], policy="FIRST")) == []
