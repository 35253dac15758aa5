"""DMN decision tables: the FEEL unary tests the Camunda editors write, every hit policy, bad
cells refused at deploy with their line, business rule tasks run without Python eval."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from processes.errors import InvalidProcess
from processes.flows import engine
from processes.flows.bpmn import load_flow
from processes.flows.dmn import (
    DmnError,
    compile_output,
    compile_unary_tests,
    map_result,
    table_from_dict,
)
from processes.flows.dmn_xml import parse_dmn
from processes.flows.spiff import DecisionTableTask
from processes.flows.spiff_state import serializer
from processes.models import ProcessDefinition

DATA = Path(__file__).parent / "data" / "dmn"
ROUTING = DATA / "contract_routing"
DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table(scenario: str, *, replace: tuple[bytes, bytes] | None = None):
    path = next((DATA / scenario).glob("*.dmn"))
    data = path.read_bytes()
    if replace:
        data = data.replace(*replace)
    tables, problems = parse_dmn(path.name, data, 1 << 20)
    assert problems == []
    return next(iter(tables.values()))


# -- FEEL unary tests -------------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "value", "expected"), [
    ("-", "anything", True), ("", None, True), ("  ", 5, True),
    ("5", 5, True), ("5", 6, False), ("-5", -5, True), ("-2.5", -2.5, True), (".5", 0.5, True),
    ('"合同专用章"', "合同专用章", True), ('"a"', "b", False), ('"say \\"hi\\""', 'say "hi"', True),
    ("true", True, True), ("false", True, False), ("true", "true", False),
    ("< 5", 4, True), ("< 5", 5, False), ("<= 5", 5, True), ("> 5", 5, False),
    (">= 5", 5, True), ("= 5", 5, True), ("!= 5", 5, False), ("> -1.5", -1, True),
    ("[1..10]", 1, True), ("[1..10]", 10, True), ("[1..10]", 11, False),
    ("]1..10]", 1, False), ("]1..10]", 10, True), ("[1..10[", 10, False), ("]1..10[", 5, True),
    ("(1..10)", 1, False), ("(1..10)", 10, False), ("[1..10)", 9.99, True), ("(1..10]", 10, True),
    ("[-10..-1]", -3, True), ('["a".."c"]', "b", True),
    ('"a","b"', "b", True), ('"a", "b"', "c", False), ("1, [5..7], > 100", 6, True),
    ("1, [5..7], > 100", 3, False),
    ('not("x")', "y", True), ('not("x")', "x", False), ('not("a","b")', "a", False),
    ("not([1..5])", 7, True), ("not(< 3)", 2, False),
    ("null", None, True), ("null", 0, False), ("not(null)", 0, True), ("< 5", None, False),
    ("[1..5]", None, False), ('"a"', None, False), ("= null", None, True),
    ('date("2026-01-01")', "2026-01-01", True),
    ('< date("2026-07-01")', "2026-06-30", True),
    ('[date("2026-01-01")..date("2026-12-31")]', "2027-01-01", False),
    ('date and time("2026-01-01T10:00:00")', "2026-01-01T10:00:00", True),
    ("> limit", 5, True), ("[low..limit]", 3, True), ("[low..limit]", 4, False),
])
def test_feel_unary_tests(cell, value, expected):
    assert compile_unary_tests(cell)(value, {"limit": 3, "low": 1}) is expected


@pytest.mark.parametrize("cell", [
    "<", "[1..5", "[1..5}", "1..5", "<< 5", "? > 5", "0 < ? <= 10000", "amount > 5", "1 + 2",
    '"unterminated', "not(", 'not("x"', "foo(1)", "__import__('os')", "x.y", 'date("2026-13-01")',
    "date(2026)", "'single'", '"a",', "> limit x",
])
def test_cells_outside_the_subset_are_refused(cell):
    with pytest.raises(DmnError, match="not a FEEL unary test"):
        compile_unary_tests(cell)


def test_comparing_different_kinds_is_an_error_but_equality_is_just_false():
    with pytest.raises(DmnError, match="cannot be compared"):
        compile_unary_tests("< 5")("abc", {})
    assert compile_unary_tests('"5"')(5, {}) is False
    with pytest.raises(DmnError, match="'limit' is not set"):
        compile_unary_tests("< limit")(1, {})


@pytest.mark.parametrize(("text", "expected"), [
    ('"bob,carol"', "bob,carol"), ("42", 42), ("-0.5", -0.5), ("true", True), ("null", None),
    ("", None), ('date("2026-05-01")', "2026-05-01"), ("amount * 2", 6),
    ("${amount > 1}", True), ("'juel'", "juel"),
])
def test_output_entries_are_literals_or_safe_expressions(text, expected):
    assert compile_output(text)[2]({"amount": 3}) == expected


def test_output_values_must_fit_in_task_data():
    t = table("rule_order")
    with pytest.raises(DmnError, match="cannot hold"):
        t.decide({"amount": 2_000_000, "days_for_finance": {1, 2}})
    assert t.decide({"amount": 200000, "days_for_finance": (1, 2)})[1]["days"] == [1, 2]


def test_output_entries_never_reach_python():
    with pytest.raises(DmnError, match="not allowed"):
        compile_output("__import__('os').system('id')")
    with pytest.raises(DmnError, match="not allowed"):
        compile_output("().__class__")


# -- hit policies -----------------------------------------------------------------------------

def test_unique_picks_the_one_matching_rule():
    t = table("unique")
    assert t.decide({"amount": 5000, "seal_type": "公章"}) == "bob"
    assert t.decide({"amount": 100000, "seal_type": "合同专用章"}) == "bob,carol"
    assert t.decide({"amount": "200000", "seal_type": "公章"}) == "carol"  # typeRef number
    assert t.decide({"amount": 2_000_000, "seal_type": "合同专用章"}) == "lily"
    assert t.evaluate({"amount": 5000, "seal_type": "x"}) == [{"approvers": "bob"}]
    assert [r.annotation for r in t.rules][:2] == ["小额合同：部门负责人", None]


def test_unique_with_two_matches_is_an_error_naming_the_rules():
    t = table("unique_overlap")
    with pytest.raises(DmnError) as info:
        t.decide({"amount": 60000, "seal_type": "合同专用章"})
    assert "UNIQUE" in info.value.message
    assert "DecisionRule_small, DecisionRule_contract" in info.value.message


def test_no_match_names_the_table_and_the_inputs():
    with pytest.raises(DmnError) as info:
        table("unique").decide({"amount": None, "seal_type": "公章"})
    assert info.value.message == ("DMN table 'seal_route' has no rule matching amount=None, "
                                  "seal_type='公章'")
    with pytest.raises(DmnError, match="'amount' is not set"):
        table("unique").decide({"seal_type": "公章"})
    with pytest.raises(DmnError, match="'many' is not a number"):
        table("unique").decide({"amount": "many", "seal_type": "公章"})


def test_first_takes_the_first_match_in_rule_order():
    assert table("first").decide({"amount": 60000, "seal_type": "合同专用章"}) == "bob"


def test_priority_ranks_by_output_values():
    t = table("priority")
    assert t.decide({"amount": 2_000_000, "new_counterparty": True}) == "high"
    assert t.decide({"amount": 10, "new_counterparty": "true"}) == "medium"
    assert t.decide({"amount": 10, "new_counterparty": False}) == "low"
    ordered = table("priority", replace=(b'"PRIORITY"', b'"OUTPUT ORDER"'))
    assert ordered.decide({"amount": 2_000_000, "new_counterparty": True}) == [
        "high", "medium", "low"]


def test_any_needs_equal_outputs():
    t = table("any")
    assert t.decide({"amount": 600000, "department": "finance"}) == "finance"
    with pytest.raises(DmnError, match="ANY but rules Rule_big, Rule_hr give different"):
        t.decide({"amount": 600000, "department": "hr"})
    with pytest.raises(DmnError, match="no rule matching"):
        t.decide({"amount": 10, "department": "sales"})


def test_collect_lists_every_match_and_may_match_nothing():
    t = table("collect")
    assert t.decide({"amount": 50}) == ["head"]
    assert t.decide({"amount": 2_000_000}) == ["head", "finance", "ceo"]
    assert t.decide({"amount": -1}) == []
    assert t.evaluate({"amount": 200000}) == [{"signer": "head"}, {"signer": "finance"}]


def test_rule_order_with_several_outputs_gives_dicts_in_rule_order():
    t = table("rule_order")
    assert t.decide({"amount": 2_000_000, "days_for_finance": 3}) == [
        {"step": "ceo", "days": 5}, {"step": "head", "days": 2},
        {"step": "finance", "days": 3}]
    with pytest.raises(DmnError, match="Rule_finance.*'days_for_finance' is not set"):
        t.decide({"amount": 2_000_000})


@pytest.mark.parametrize(("aggregation", "pages", "expected"), [
    (b"SUM", 5, 10), (b"SUM", 15, 12.5), (b"SUM", 30, 27.5),
    (b"MIN", 30, 2.5), (b"MAX", 30, 15.0), (b"COUNT", 30, 3), (b"COUNT", 1, 1),
])
def test_collect_aggregations(aggregation, pages, expected):
    t = table("collect_sum", replace=(b'aggregation="SUM"', b'aggregation="' + aggregation + b'"'))
    assert t.decide({"document_pages": pages}) == expected
    assert t.evaluate({"document_pages": pages}) == [{"fee": expected}]


def test_collect_without_aggregation_on_the_same_table():
    t = table("collect_sum", replace=(b' aggregation="SUM"', b""))
    assert t.decide({"document_pages": 30}) == [10, 2.5, 15.0]


@pytest.mark.parametrize(("mapping", "rows", "expected"), [
    (None, [{"a": 1}], [{"a": 1}]),
    ("resultList", [], []),
    ("singleResult", [{"a": 1, "b": 2}], {"a": 1, "b": 2}),
    ("singleResult", [], None),
    ("singleEntry", [{"a": 1}], 1),
    ("singleEntry", [], None),
    ("collectEntries", [{"a": 1}, {"a": 2}], [1, 2]),
])
def test_result_mappings(mapping, rows, expected):
    assert map_result(rows, mapping, "d") == expected


@pytest.mark.parametrize(("mapping", "rows"), [
    ("singleResult", [{"a": 1}, {"a": 2}]), ("singleEntry", [{"a": 1}, {"a": 2}]),
    ("singleEntry", [{"a": 1, "b": 2}]), ("collectEntries", [{"a": 1, "b": 2}]),
])
def test_result_mappings_that_do_not_fit_are_errors(mapping, rows):
    with pytest.raises(DmnError, match=mapping):
        map_result(rows, mapping, "d")


def test_older_camunda_modeler_namespaces():
    assert table("dmn11").decide({"seal_type": "财务专用章"}) == "finance"
    t = table("dmn12")
    assert t.decide({"due": "2026-06-30"}) == "urgent"
    assert t.decide({"due": "2026-07-01"}) == "normal"


def test_input_data_in_the_diagram_is_documentation():
    data = _dmn(f'<decisionTable id="x">{_IN}{_OUT}</decisionTable>',
                '<informationRequirement id="r"><requiredInput href="#amount_data"/>'
                "</informationRequirement>")
    tables, problems = parse_dmn("t.dmn", data, 1 << 20)
    assert problems == [] and tables["t"] is not None


def test_a_table_round_trips_through_its_texts():
    t = table("priority")
    again = table_from_dict(json.loads(json.dumps(t.to_dict())))
    assert again.decide({"amount": 2_000_000, "new_counterparty": False}) == "high"


# -- refused at deploy ------------------------------------------------------------------------

def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_bad_cells_are_problems_with_rule_and_line():
    path = DATA / "bad_cells" / "route.dmn"
    tables, problems = parse_dmn(path.name, path.read_bytes(), 1 << 20)
    assert tables == {"route": None}
    found = {p.element: p for p in problems}
    assert set(found) == {"Rule_unclosed_range", "Rule_python_cell", "Rule_evil_output"}
    assert found["Rule_unclosed_range"].line == _line_of(path, "[1..5")
    assert found["Rule_python_cell"].line == _line_of(path, "0 &lt; ?")
    assert found["Rule_evil_output"].line == _line_of(path, "__import__")
    assert "not allowed" in found["Rule_evil_output"].message
    assert all(p.file == "route.dmn" for p in problems)


def test_a_dtd_is_refused_before_parsing():
    path = DATA / "doctype" / "bomb.dmn"
    tables, problems = parse_dmn(path.name, path.read_bytes(), 1 << 20)
    assert tables == {}
    assert "DTD" in problems[0].message and problems[0].line == 2


def _dmn(table_xml: str, decision_extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="{DMN13}" id="d" '
            f'name="DRD" namespace="http://camunda.org/schema/1.0/dmn">\n<decision id="t">'
            f"{decision_extra}{table_xml}</decision>\n</definitions>\n").encode()


_IN = ('<input id="i"><inputExpression id="ie" typeRef="number"><text>amount</text>'
       "</inputExpression></input>")
_OUT = '<output id="o" name="y" typeRef="string" />'
_JS_IN = _IN.replace("<inputExpression ", '<inputExpression expressionLanguage="javascript" ')


@pytest.mark.parametrize(("data", "message"), [
    (_dmn(f'<decisionTable id="x" hitPolicy="FIRST" aggregation="SUM">{_IN}{_OUT}'
          "</decisionTable>"), "needs hit policy COLLECT"),
    (_dmn(f'<decisionTable id="x" hitPolicy="PRIORITY">{_IN}{_OUT}</decisionTable>'),
     "needs output values"),
    (_dmn(f'<decisionTable id="x" hitPolicy="SOMETIMES">{_IN}{_OUT}</decisionTable>'),
     "unknown hit policy"),
    (_dmn(f'<decisionTable id="x">{_IN}<output id="a"/><output id="b"/></decisionTable>'),
     "has no name"),
    (_dmn('<literalExpression id="l"><text>1</text></literalExpression>'),
     "not a decision table"),
    (_dmn(f'<decisionTable id="x">{_IN}{_OUT}</decisionTable>',
          '<informationRequirement id="r"><requiredDecision href="#other"/>'
          "</informationRequirement>"), "requires other decisions"),
    (_dmn(f'<decisionTable id="x">{_IN.replace("amount", "contract.amount")}{_OUT}'
          "</decisionTable>"), "not allowed"),
    (_dmn(f'<decisionTable id="x">{_JS_IN}{_OUT}</decisionTable>'), "javascript"),
    (_dmn(f'<decisionTable id="x">{_IN}{_OUT}<rule id="r"><inputEntry id="e">'
          "<text>1</text></inputEntry></rule></decisionTable>"), "0 output entries"),
    (b"<definitions xmlns='http://www.omg.org/spec/BPMN/20100524/MODEL'/>", "not a DMN file"),
    (b"<definitions", "not well-formed"),
])
def test_structural_problems(data, message):
    tables, problems = parse_dmn("t.dmn", data, 1 << 20)
    assert any(message in p.message for p in problems), problems
    assert not any(tables.values())


# -- business rule tasks ----------------------------------------------------------------------

BPMN = (ROUTING / "contract_dmn.bpmn").read_bytes()
ROUTE = (ROUTING / "contract_route.dmn").read_bytes()


def _problems(files: dict[str, bytes]) -> dict[str, dict]:
    with pytest.raises(InvalidProcess) as info:
        load_flow(files)
    return {p["element"]: p for p in info.value.problems}


def test_a_flow_deploys_with_its_dmn_in_any_order():
    flow = load_flow({"contract_route.dmn": ROUTE, "contract_dmn.bpmn": BPMN})
    assert flow.key == "contract_dmn"
    assert set(flow.files) == {"contract_route.dmn", "contract_dmn.bpmn"}
    assert isinstance(flow.spec.task_specs["pick_approvers"], DecisionTableTask)


def test_a_decision_ref_naming_no_deployed_decision_is_a_problem_with_the_others():
    bpmn = (BPMN.replace(b'camunda:decisionRef="contract_route"', b'camunda:decisionRef="nope"')
            .replace(b'candidateGroups="legal"', b'candidateGroups="${a &amp;&amp;}"'))
    bad_dmn = ROUTE.replace(b"<text>&lt; 100000</text>", b"<text>&lt; 100000]</text>")
    problems = _problems({"contract_dmn.bpmn": bpmn, "contract_route.dmn": bad_dmn})
    assert "names decision 'nope'" in problems["pick_approvers"]["message"]
    assert problems["pick_approvers"]["line"] == _line_of(ROUTING / "contract_dmn.bpmn",
                                                          '<bpmn:businessRuleTask id="pick')
    assert problems["pick_approvers"]["file"] == "contract_dmn.bpmn"
    assert "legal_review" in problems
    assert problems["Rule_small"]["file"] == "contract_route.dmn"
    assert problems["Rule_small"]["line"] == _line_of(ROUTING / "contract_route.dmn",
                                                      "&lt; 100000")
    assert "no DMN" in _problems({"contract_dmn.bpmn": BPMN})["pick_approvers"]["message"]


@pytest.mark.parametrize(("old", "new", "message"), [
    (b' camunda:resultVariable="route"', b"", "no camunda:resultVariable"),
    (b'"singleResult"', b'"firstEntry"', "not one of"),
    (b'"singleResult"', b'"singleEntry"', "has 2 outputs"),
    (b' camunda:decisionRef="contract_route"', b"", "no camunda:decisionRef"),
])
def test_business_rule_task_attributes_are_checked(old, new, message):
    problems = _problems({"contract_dmn.bpmn": BPMN.replace(old, new), "r.dmn": ROUTE})
    assert message in problems["pick_approvers"]["message"]


def test_a_decision_in_two_files_is_a_problem():
    assert "more than one DMN file" in _problems(
        {"contract_dmn.bpmn": BPMN, "a.dmn": ROUTE, "b.dmn": ROUTE})["contract_route"]["message"]


_IDS = itertools.count(10**9)


def _definition(dmn: bytes, mapping: bytes = b"singleResult") -> ProcessDefinition:
    bpmn = BPMN.replace(b'"singleResult"', b'"' + mapping + b'"')
    files = {"contract_dmn.bpmn": bpmn, "contract_route.dmn": dmn}
    flow = load_flow(files)
    definition = ProcessDefinition(id=next(_IDS), key=flow.key, files=flow.files)
    engine.SPECS.put(definition.id, (flow.spec, flow.subprocess_specs))
    return definition


@pytest.mark.parametrize(("mapping", "expected"), [
    (b"singleResult", {"approvers": "carol", "needs_legal": True}),
    (b"resultList", [{"approvers": "carol", "needs_legal": True}]),
])
def test_the_result_variable_is_set_and_the_state_serializes(mapping, expected):
    definition = _definition(ROUTE, mapping)
    wf = engine.start(definition, {"amount": 200000, "contract_type": "sales"})
    [ready] = engine.ready_user_tasks(wf)
    assert ready.element_id == "approve"
    assert ready.data["route"] == expected
    state, _ = engine.dump(wf)
    again = engine.load(definition, state)
    assert engine.ready_user_tasks(again)[0].data["route"] == expected


def test_a_unique_table_with_two_matches_is_an_incident_at_the_task():
    definition = _definition(ROUTING.joinpath("contract_route_overlap.dmn").read_bytes())
    with pytest.raises(engine.EngineIncident) as info:
        engine.start(definition, {"amount": 200000, "contract_type": "purchase"})
    assert info.value.element == "pick_approvers"
    assert "UNIQUE" in info.value.message and "Rule_large_external" in info.value.message


def test_the_spec_round_trips_through_the_serializer_registry():
    flow = load_flow({"contract_dmn.bpmn": BPMN, "contract_route.dmn": ROUTE})
    registry = serializer().registry
    spec = registry.restore(json.loads(json.dumps(registry.convert(flow.spec))))
    task = spec.task_specs["pick_approvers"]
    assert isinstance(task, DecisionTableTask)
    assert (task.result_variable, task.map_decision_result) == ("route", "singleResult")
    assert task.table.decide({"amount": 1, "contract_type": "sales"}) == {
        "approvers": "bob", "needs_legal": False}


def test_a_tables_cells_share_one_expression_budget():
    """Each output alone is within an evaluation's budget; a table of many is not."""
    def src(rules: int) -> dict:
        return {"decision": "costly", "hit_policy": "COLLECT",
                "inputs": [{"id": "i", "expression": "kind", "type_ref": "string"}],
                "outputs": [{"id": "o", "name": "n"}],
                "rules": [{"id": f"r{i}", "inputs": [["-", 1]],
                           "outputs": [["len(str([s] * 1000))", 1]]} for i in range(rules)]}
    variables = {"kind": "x", "s": "9" * 90}
    assert len(table_from_dict(src(2)).decide(variables)) == 2
    with pytest.raises(DmnError, match="too costly"):
        table_from_dict(src(12)).decide(variables)


@pytest.mark.parametrize("cell", ["> " + "9" * 5000, "9" * 5000, "[1.." + "9" * 39 + "]",
                                  '"' + "x" * 5000 + '"'])
def test_a_cell_too_long_or_with_a_huge_number_is_refused(cell):
    with pytest.raises(DmnError):
        compile_unary_tests(cell)
    if not cell.startswith(("[", ">")):
        with pytest.raises(DmnError):
            compile_output(cell)
