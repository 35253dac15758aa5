"""Where each user task may send a request back, computed at deploy from the paths drawn
(processes/flows/return_paths.py): the modeler's rule, per task, with its targets."""

from __future__ import annotations

from pathlib import Path

from processes.flows.bpmn import load_flow
from tests.e2e.test_approval_rules import END_AUTHORIZED, flow
from tests.processes.test_bpmn import BPMN_DIR, deployment

REVISION_LOOP = (Path(__file__).resolve().parents[1] / "e2e" / "data" / "revision_loop"
                 / "revision_loop.bpmn")


def _targets(parsed) -> dict[str, list[str]]:
    return {element: [t["id"] for t in meta["return_targets"]]
            for element, meta in sorted(parsed.tasks.items())}


def test_the_shipped_approval_flows_send_every_approval_back_to_the_requester():
    expected = {
        "contract_seal": ["custodian_approve", "dept_head_approve", "legal_review"],
        "official_document": ["custodian_approve", "leader_signoff", "office_review"],
        "finance_seal": ["custodian_approve", "director_approve", "finance_review"],
    }
    for key, approvals in expected.items():
        parsed = load_flow(deployment(BPMN_DIR / key))
        assert _targets(parsed) == {**{a: ["revise"] for a in approvals}, "revise": []}, key
        revise = parsed.tasks["revise"]
        assert revise["assignee"] == "${requester}" and revise["can_return"] is False
        assert parsed.tasks[approvals[0]]["can_return"] is True
        assert parsed.tasks[approvals[0]]["return_targets"][0]["name"] == "申请人修改后重新提交"


def test_a_flow_without_a_return_path_offers_none():
    parsed = load_flow(deployment(BPMN_DIR / "hr_certificate"))
    assert all(meta["return_targets"] == [] and meta["can_return"] is False
               for meta in parsed.tasks.values())


def test_only_the_task_whose_decision_leads_back_may_send_back():
    parsed = load_flow({"revision_loop.bpmn": REVISION_LOOP.read_bytes()})
    assert _targets(parsed) == {"review": ["revise"], "revise": []}


def test_return_flows_are_followed_through_gateways_both_ways():
    """Past the task through two gateways to the return flow, and past a gateway after it to
    both of the tasks it leads to; a 'return' test on a flow not reached from the task (it
    leaves another task's gateway) is not this task's."""
    body = f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="a" />
    <bpmn:userTask id="a" name="A" camunda:assignee="${{requester}}" />
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b" />
    <bpmn:userTask id="b" name="B" camunda:candidateUsers="bob" />
    <bpmn:sequenceFlow id="f3" sourceRef="b" targetRef="c" />
    <bpmn:userTask id="c" name="C" camunda:candidateUsers="carol" />
    <bpmn:sequenceFlow id="f4" sourceRef="c" targetRef="gw1" />
    <bpmn:exclusiveGateway id="gw1" default="f_ok" />
    <bpmn:sequenceFlow id="f_ok" sourceRef="gw1" targetRef="authorized" />
    <bpmn:sequenceFlow id="f_more" sourceRef="gw1" targetRef="gw2">
      <bpmn:conditionExpression>${{decision != 'approve'}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:exclusiveGateway id="gw2" default="f_reject" />
    <bpmn:sequenceFlow id="f_reject" sourceRef="gw2" targetRef="rejected" />
    <bpmn:sequenceFlow id="f_back" sourceRef="gw2" targetRef="split">
      <bpmn:conditionExpression>${{decision == "return"}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:exclusiveGateway id="split" default="to_a" />
    <bpmn:sequenceFlow id="to_a" sourceRef="split" targetRef="a" />
    <bpmn:sequenceFlow id="to_b" sourceRef="split" targetRef="b">
      <bpmn:conditionExpression>${{return_to == 'b'}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="rejected" />
    {END_AUTHORIZED}"""
    parsed = load_flow({"gateways.bpmn": flow("gateways", body)})
    assert _targets(parsed) == {"a": [], "b": [], "c": ["a", "b"]}
