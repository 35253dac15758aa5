"""BPMN loading: every shipped file loads; the Camunda attributes the stock parser drops are
kept; unsafe or broken files are refused with the element and line."""

from pathlib import Path

import pytest

from processes.bpmn import load_flow
from processes.errors import InvalidProcess

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
SHIPPED = sorted(BPMN_DIR.glob("*/*.bpmn"))


def test_there_are_shipped_flows():
    assert SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name)
def test_every_shipped_flow_loads(path):
    flow = load_flow({path.name: path.read_bytes()})
    assert flow.authorized_end
    assert flow.tasks, "a shipped flow has user tasks"
    for element, meta in flow.tasks.items():
        assert meta["assignee"] or meta["candidate_users"] or meta["candidate_groups"] \
            or meta["lane"], element


def test_contract_flow_keeps_camunda_assignment_and_forms():
    path = BPMN_DIR / "contract_seal" / "contract_seal.bpmn"
    flow = load_flow({path.name: path.read_bytes()})
    assert flow.key == "contract_seal"
    assert flow.authorized_end == "end_authorized"
    assert flow.tasks["dept_head_approve"]["candidate_users"] == "${requester_heads}"
    assert flow.tasks["custodian_approve"]["candidate_users"] == "${seal_custodians}"
    assert flow.tasks["legal_review"]["lane"] == "法务部"
    assert flow.tasks["legal_review"]["form"][0]["required"] is True
    assert [f["id"] for f in flow.start_form] == ["amount", "purpose", "counterparty"]
    assert flow.start_form[0]["type"] == "long"


def _wrap(body: str) -> bytes:
    return ('<?xml version="1.0"?><bpmn:definitions '
            'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d">'
            f'<bpmn:process id="p" isExecutable="true">{body}</bpmn:process>'
            '</bpmn:definitions>').encode()


def test_a_gateway_without_default_is_a_warning_not_an_error():
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/>'
            '<bpmn:exclusiveGateway id="g"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="a"><bpmn:conditionExpression>'
            '${x &gt; 1}</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="b"><bpmn:conditionExpression>'
            '${x &lt;= 1}</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>')
    flow = load_flow({"p.bpmn": _wrap(body)}, authorized_end="a")
    assert [w.element for w in flow.warnings] == ["g"]


def test_bad_conditions_and_duplicate_ids_are_problems_with_lines():
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/>'
            '<bpmn:exclusiveGateway id="g" default="f2"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="a"><bpmn:conditionExpression>'
            "${x.__class__}</bpmn:conditionExpression></bpmn:sequenceFlow>"
            '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="a"/>'
            '<bpmn:endEvent id="a"/><bpmn:endEvent id="a"/>')
    with pytest.raises(InvalidProcess) as info:
        load_flow({"p.bpmn": _wrap(body)}, authorized_end="a")
    problems = {p["element"]: p for p in info.value.problems}
    assert "f1" in problems and "not allowed" in problems["f1"]["message"]
    assert "a" in problems and "used 2 times" in problems["a"]["message"]
    assert all(p["line"] for p in info.value.problems)


def test_oversized_files_are_refused():
    with pytest.raises(InvalidProcess, match="over the limit"):
        load_flow({"p.bpmn": _wrap("<bpmn:startEvent id='s'/>")}, max_bytes=10)


def test_a_user_task_nobody_can_work_is_refused():
    body = ('<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="t"/>'
            '<bpmn:userTask id="t"/><bpmn:sequenceFlow id="f1" sourceRef="t" targetRef="a"/>'
            '<bpmn:endEvent id="a"/>')
    with pytest.raises(InvalidProcess) as info:
        load_flow({"p.bpmn": _wrap(body)}, authorized_end="a")
    assert info.value.problems[0]["element"] == "t"
    assert "no one could work it" in info.value.problems[0]["message"]
