"""A designer's expression cannot stall the server: one too long, too deep or costly whatever the
data is refused at deploy (422 naming the element and line, never a 500); one costly only with
the request's data stops that request with an incident naming the element, promptly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import approve, deploy_bytes, submit

CONTRACT = Path(__file__).resolve().parents[2] / "bpmn" / "contract_seal"

FLOW = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="costly" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check" />
    <bpmn:userTask id="check" camunda:candidateUsers="PERFORMER" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f4" />
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="ok">
      <bpmn:conditionExpression>CONDITION</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="ok" />
    <bpmn:endEvent id="ok"><bpmn:extensionElements><camunda:properties>
      <camunda:property name="outcome" value="authorized" /></camunda:properties>
    </bpmn:extensionElements></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""
FINE_PERFORMER = "${seal_custodians}"
FINE_CONDITION = "${decision == 'approve'}"


def _flow(performer: str = FINE_PERFORMER, condition: str = FINE_CONDITION) -> bytes:
    def xml(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    return FLOW.replace("PERFORMER", xml(performer)).replace("CONDITION", xml(condition)) \
        .encode()


@pytest.mark.parametrize(("condition", "message"), [
    ("${" + "not " * 10_000 + "true}", "characters long"),  # was a MemoryError, a 500
    ("${" + "+".join(["1"] * 100_000) + " > 0}", "characters long"),  # was a RecursionError
    ("${" + "+".join(["1"] * 100) + " > 0}", "nested"),  # parses, but deeper than allowed
    ("${" + "-" * 1500 + "1 > 0}", "operators and brackets"),  # Python's parser recursed
    ("${len([[0]*20000]*20000) > 0}", "too costly"),  # 16 s an evaluation
    ("${'%0999999999d' % 1 != ''}", "too costly"),  # a 1 GB string
    ("${round(5, -1000000000) == 0}", "too costly"),  # minutes
])
def test_an_expression_too_big_deep_or_costly_is_refused_at_deploy(org, condition, message):
    resp = deploy_bytes(org.designer, {"costly.bpmn": _flow(condition=condition)})
    assert resp.status_code == 422, resp.get_json()
    (problem,) = resp.get_json()["error"]["problems"]
    assert problem["element"] == "f3" and problem["line"] == 10
    assert message in problem["message"]
    assert len(problem["message"]) < 500  # the expression is shown shortened


def test_a_costly_performer_is_refused_at_deploy(org):
    performer = "${seal_custodians if len([[0]*20000]*20000) else []}"
    resp = deploy_bytes(org.designer, {"costly.bpmn": _flow(performer=performer)})
    assert resp.status_code == 422
    (problem,) = resp.get_json()["error"]["problems"]
    assert problem["element"] == "check" and "too costly" in problem["message"]


def test_a_performer_costly_with_the_requests_data_is_an_incident(org, pdf):
    performer = "${seal_custodians if len([[0]*n]*n) else []}"
    assert deploy_bytes(org.designer, {"costly.bpmn": _flow(performer=performer)}) \
        .status_code == 201
    assert submit(org.alice, org.seal_id, pdf, process="costly", data={"n": 2}) \
        .get_json()["status"] == "running"
    body = submit(org.alice, org.seal_id, pdf, process="costly", data={"n": 20_000}).get_json()
    assert body["status"] == "incident"
    assert body["failure"].startswith("check:") and "too costly" in body["failure"]


def test_a_condition_costly_with_the_requests_data_is_an_incident(org, pdf):
    condition = "${len([[0]*n]*n) > 0}"
    assert deploy_bytes(org.designer, {"costly.bpmn": _flow(condition=condition)}) \
        .status_code == 201
    req = submit(org.alice, org.seal_id, pdf, process="costly", data={"n": 20_000}).get_json()
    assert approve(org.carol).status_code == 200
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "incident"
    assert body["failure"].startswith("gw:") and "too costly" in body["failure"]


@pytest.mark.parametrize(("cell", "costly"), [
    (b"<text>&gt; 200000</text>", b"<text>&gt; " + b"9" * 5000 + b"</text>"),
    (b"<text>true</text>", b"<text>" + b"9" * 5000 + b"</text>"),
    (b"<text>true</text>", b"<text>len([[0]*20000]*20000)</text>"),
    (b"<text>amount</text>", b"<text>" + b"-" * 1500 + b"amount</text>"),
])
def test_a_decision_table_cell_too_big_or_costly_is_refused_at_deploy(org, cell, costly):
    table = (CONTRACT / "contract_routing.dmn").read_bytes()
    assert cell in table
    resp = deploy_bytes(org.designer, {
        "contract_seal.bpmn": (CONTRACT / "contract_seal.bpmn").read_bytes(),
        "contract_routing.dmn": table.replace(cell, costly, 1)})
    assert resp.status_code == 422, resp.get_json()
    problem = resp.get_json()["error"]["problems"][0]
    assert problem["file"] == "contract_routing.dmn" and problem["line"] is not None
    assert problem["element"] in ("Rule_official_large", "Input_amount")
