"""processes.flows.version_diff: what a designer sees changed between two versions of the
shipped flows, edited as a designer would in the modeler (and the layout alone is no change)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from processes.flows.version_diff import compare
from tests.e2e.test_migration import with_finance_review, with_legal_threshold, without_dept_head

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(ROOT.glob("bpmn/*/*.bpmn"))
CONTRACT = (ROOT / "bpmn/contract_seal/contract_seal.bpmn").read_text(encoding="utf-8")
TABLE = (ROOT / "bpmn/contract_seal/contract_routing.dmn").read_text(encoding="utf-8")
LENDING = (ROOT / "bpmn/seal_lending/seal_lending.bpmn").read_text(encoding="utf-8")


def _sub(xml: str, pattern: str, replacement: str) -> str:
    edited, count = re.subn(pattern, replacement, xml, flags=re.S)
    assert count, pattern
    return edited


def _contract(xml: str | bytes, table: str | bytes = TABLE) -> dict:
    text = xml.decode() if isinstance(xml, bytes) else xml
    dmn = table.decode() if isinstance(table, bytes) else table
    return compare({"contract_seal.bpmn": CONTRACT, "contract_routing.dmn": TABLE},
                   {"contract_seal.bpmn": text, "contract_routing.dmn": dmn})


def _changed(diff: dict) -> dict[str, dict[str, tuple]]:
    return {c["id"]: {p["name"]: (p["before"], p["after"]) for p in c["properties"]}
            for c in diff["changed"]}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_a_version_compared_with_itself_has_no_changes(path):
    files = {p.name: p.read_text(encoding="utf-8") for p in path.parent.iterdir()}
    assert compare(files, files) == {"added": [], "removed": [], "changed": [],
                                     "decisions": []}


def test_moving_shapes_on_the_diagram_is_no_change():
    moved = re.sub(r'<dc:Bounds x="(\d+)"', lambda m: f'<dc:Bounds x="{int(m[1]) + 40}"',
                   CONTRACT)
    assert moved != CONTRACT
    assert _contract(moved) == {"added": [], "removed": [], "changed": [], "decisions": []}


def test_a_task_added_between_two_steps():
    diff = _contract(with_finance_review())
    assert diff["added"] == [
        {"id": "finance_review", "type": "userTask", "name": "财务审核"},
        {"id": "flow_finance_done", "type": "sequenceFlow", "name": None}]
    assert diff["removed"] == []
    changed = _changed(diff)
    assert changed["flow_dept_approved"] == {"target": ("route_contract", "finance_review")}
    assert changed["route_contract"] == {"incoming": ("flow_dept_approved",
                                                      "flow_finance_done")}
    assert set(changed) == {"flow_dept_approved", "route_contract"}


def test_a_task_removed_with_its_gateway_and_flows():
    diff = _contract(without_dept_head())
    assert [e["id"] for e in diff["removed"]] == [
        "dept_head_approve", "flow_dept_approved", "flow_dept_head_done", "flow_dept_rejected",
        "flow_gw_dept_return", "gw_dept"]
    assert {e["type"] for e in diff["removed"]} == {"userTask", "sequenceFlow",
                                                    "exclusiveGateway"}
    changed = _changed(diff)
    assert changed["flow_submit"] == {"target": ("dept_head_approve", "route_contract")}
    assert changed["flow_resubmit"] == {"target": ("dept_head_approve", "route_contract")}
    assert changed["end_rejected"]["incoming"][0].startswith("flow_custodian_rejected, "
                                                             "flow_dept_rejected")


def test_assignment_condition_form_and_name_changes_are_named():
    xml = _sub(CONTRACT, r'<bpmn:userTask id="legal_review" name="法务审核">',
               '<bpmn:userTask id="legal_review" name="法务复核" camunda:candidateGroups="legal" '
               'camunda:assignee="lily">')
    xml = _sub(xml, r"\$\{contract_route\['needs_legal'\]\}", "${amount &gt; 500000}")
    xml = _sub(xml, r'<camunda:formField id="counterparty" label="合同相对方" type="string" />',
               '<camunda:formField id="counterparty" label="合同相对方" type="string">'
               '<camunda:validation><camunda:constraint name="required" /></camunda:validation>'
               '</camunda:formField>')
    changed = _changed(_contract(xml))
    assert list(changed["legal_review"]) == ["name", "assignee", "candidate groups"]
    assert changed["legal_review"]["name"] == ("法务审核", "法务复核")
    assert changed["legal_review"]["candidate groups"] == (None, "legal")
    assert changed["flow_needs_legal"] == {
        "condition": ("${contract_route['needs_legal']}", "${amount > 500000}")}
    assert changed["submit"] == {"form field counterparty": ("合同相对方 · string",
                                                             "合同相对方 · string · required")}


def test_the_outcome_of_an_end_and_a_task_moved_to_another_lane():
    xml = _sub(CONTRACT, r'(<bpmn:endEvent id="end_rejected".*?name="outcome" value=)"rejected"',
               r'\1"withdrawn"')
    xml = _sub(xml, r"(<bpmn:lane id=\"lane_legal\".*?)<bpmn:flowNodeRef>legal_review"
                    r"</bpmn:flowNodeRef>", r"\1")
    xml = _sub(xml, r"(<bpmn:lane id=\"lane_custodian\".*?)(<bpmn:flowNodeRef>)",
               r"\1<bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>\2")
    changed = _changed(_contract(xml))
    assert changed["end_rejected"] == {"outcome": ("rejected", "withdrawn")}
    assert changed["legal_review"] == {"lane": ("法务部", "印章管理员")}
    assert "lane_legal" not in changed  # the lane itself is the same


def test_due_dates_timers_and_multi_instance():
    xml = _sub(LENDING, r"T18:00:00'\}\">", "T12:00:00'}\">")
    xml = _sub(xml, r"T18:00:00/P1D", "T18:00:00/PT12H")
    xml = _sub(xml, r'(<bpmn:userTask id="return_seal"[^>]*>)',
               r'\1<bpmn:multiInstanceLoopCharacteristics isSequential="true" '
               r'camunda:collection="${custodians}" camunda:elementVariable="custodian" />')
    diff = compare({"seal_lending.bpmn": LENDING}, {"seal_lending.bpmn": xml})
    changed = _changed(diff)
    assert changed["return_seal"]["due date"] == ("${return_date + 'T18:00:00'}",
                                                  "${return_date + 'T12:00:00'}")
    assert changed["return_seal"]["multi-instance"] == (
        None, "sequential · collection ${custodians} · elementVariable custodian")
    assert changed["remind_overdue"] == {"timer": (
        "timeCycle ${'R/' + return_date + 'T18:00:00/P1D'}",
        "timeCycle ${'R/' + return_date + 'T18:00:00/PT12H'}")}


def test_seal_action_of_a_flow():
    path = ROOT / "bpmn/seal_make/seal_make.bpmn"
    xml = path.read_text(encoding="utf-8")
    edited = _sub(xml, 'name="seal_action" value="make"', 'name="seal_action" value="change"')
    changed = _changed(compare({"f.bpmn": xml}, {"f.bpmn": edited}))
    assert {p: v for c in changed.values() for p, v in c.items()} == {
        "seal_action": ("make", "change")}


def test_decision_table_thresholds_hit_policy_and_rules():
    table = with_legal_threshold(500000).decode()
    table = _sub(table, 'hitPolicy="UNIQUE"', 'hitPolicy="FIRST"')
    table = _sub(table, r'\s*<rule id="Rule_official_small">.*?</rule>', "")
    table = _sub(table, r"(</rule>\s*</decisionTable>)",
                 '</rule><rule id="Rule_new"><inputEntry><text>&gt; 5000000</text></inputEntry>'
                 '<inputEntry><text></text></inputEntry><outputEntry><text>true</text>'
                 r'</outputEntry></rule>\n    </decisionTable>')
    diff = _contract(CONTRACT, table)
    assert diff["added"] == diff["removed"] == diff["changed"] == []
    [decision] = diff["decisions"]
    assert decision["id"] == "contract_routing" and decision["change"] == "changed"
    assert decision["properties"] == [{"name": "hit policy", "before": "UNIQUE",
                                       "after": "FIRST"}]
    rules = decision["rules"]
    assert rules["added"] == [{"id": "Rule_new", "summary": "amount > 5000000 → needs_legal true"}]
    assert rules["removed"] == [{"id": "Rule_official_small",
                                 "summary": 'amount <= 200000 · seal_type "公章" → '
                                            "needs_legal false"}]
    assert rules["changed"] == [
        {"id": "Rule_contract_large", "properties": [
            {"name": "amount", "before": "> 1000000", "after": "> 500000"}]},
        {"id": "Rule_contract_small", "properties": [
            {"name": "amount", "before": "<= 1000000", "after": "<= 500000"}]}]


def test_a_decision_table_added_or_removed():
    diff = compare({"contract_seal.bpmn": CONTRACT},
                   {"contract_seal.bpmn": CONTRACT, "contract_routing.dmn": TABLE})
    assert [(d["id"], d["change"]) for d in diff["decisions"]] == [("contract_routing", "added")]
    diff = compare({"contract_seal.bpmn": CONTRACT, "contract_routing.dmn": TABLE},
                   {"contract_seal.bpmn": CONTRACT})
    assert [(d["id"], d["change"]) for d in diff["decisions"]] == [("contract_routing",
                                                                    "removed")]
