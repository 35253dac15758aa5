"""BPMN loading: every shipped file loads; the Camunda attributes the stock parser drops are
kept; unsafe or broken files are refused with the element and line."""

from pathlib import Path

import pytest

from processes.errors import InvalidProcess
from processes.flows.bpmn import load_flow

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
FOLDERS = sorted(p for p in BPMN_DIR.iterdir() if p.is_dir())


def deployment(folder: Path) -> dict[str, bytes]:
    """A shipped folder as one deployment: its flow first (the .bpmn named after the folder),
    then the processes it calls (other .bpmn files) and its decision tables (.dmn)."""
    main = folder / f"{folder.name}.bpmn"
    others = sorted(p for p in folder.iterdir() if p.suffix in (".bpmn", ".dmn") and p != main)
    return {p.name: p.read_bytes() for p in [main, *others]}


def test_there_are_shipped_flows():
    assert {f.name for f in FOLDERS} >= {"contract_seal", "official_document", "finance_seal",
                                         "hr_certificate", "seal_lending"}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_shipped_flow_loads(folder):
    flow = load_flow(deployment(folder))
    assert flow.key == folder.name
    assert flow.authorized_end
    assert flow.warnings == []
    assert flow.tasks, "a shipped flow has user tasks"
    for element, meta in flow.tasks.items():
        assert meta["assignee"] or meta["candidate_users"] or meta["candidate_groups"] \
            or meta["lane"], element


def test_the_contract_flow_needs_its_decision_table():
    path = BPMN_DIR / "contract_seal" / "contract_seal.bpmn"
    with pytest.raises(InvalidProcess) as info:
        load_flow({path.name: path.read_bytes()})
    problem = info.value.problems[0]
    assert problem["element"] == "route_contract"
    assert "contract_routing" in problem["message"]


def test_contract_flow_keeps_camunda_assignment_and_forms():
    flow = load_flow(deployment(BPMN_DIR / "contract_seal"))
    assert flow.key == "contract_seal"
    assert flow.authorized_end == "end_authorized"
    assert flow.tasks["dept_head_approve"]["candidate_users"] == "${requester_heads}"
    assert flow.tasks["custodian_approve"]["candidate_users"] == "${seal_custodians}"
    assert flow.tasks["legal_review"]["lane"] == "法务部"
    assert flow.tasks["legal_review"]["form"][0]["required"] is True
    assert [f["id"] for f in flow.start_form] == ["amount", "purpose", "counterparty"]
    assert flow.start_form[0]["type"] == "long"
    route = flow.spec.task_specs["route_contract"]
    assert (route.table.decision_id, route.result_variable, route.map_decision_result) == (
        "contract_routing", "contract_route", "singleResult")


@pytest.mark.parametrize(("amount", "seal_type", "needs_legal"), [
    (1_000_000, "合同专用章", False), (1_000_001, "合同专用章", True),
    (200_000, "公章", False), (200_001, "公章", True),
    (1_000_000, "法定代表人名章", False), (1_500_000, "法定代表人名章", True)])
def test_the_contract_table_decides_legal_review_by_amount_and_seal_type(amount, seal_type,
                                                                        needs_legal):
    table = load_flow(deployment(BPMN_DIR / "contract_seal")).spec.task_specs[
        "route_contract"].table
    assert table.evaluate({"amount": amount, "seal_type": seal_type}) == [
        {"needs_legal": needs_legal}]


@pytest.mark.parametrize(("amount", "purpose", "needs_director"), [
    (200_000, "bank", False), (200_001, "bank", True), (9_000_000, "tax", False),
    (1_000_000, "invoice", False), (1_000_001, "invoice", True), (1, "other", True)])
def test_the_finance_table_decides_the_director_by_amount_and_purpose(amount, purpose,
                                                                     needs_director):
    table = load_flow(deployment(BPMN_DIR / "finance_seal")).spec.task_specs[
        "route_finance"].table
    assert table.evaluate({"amount": amount, "purpose": purpose}) == [
        {"needs_director": needs_director}]


def test_the_shipped_forms_are_typed():
    forms = {f.name: {field["id"]: field for field in load_flow(deployment(f)).start_form}
             for f in FOLDERS}
    assert [v["name"] for v in forms["official_document"]["doc_type"]["values"]] == [
        "通知", "请示", "函", "报告"]
    assert forms["finance_seal"]["purpose"]["type"] == "enum"
    assert forms["hr_certificate"]["cert_type"]["default"] == "employment"
    lending = forms["seal_lending"]
    assert (lending["return_date"]["type"], lending["return_date"]["required"]) == ("date", True)
    tasks = load_flow(deployment(BPMN_DIR / "seal_lending")).tasks
    assert tasks["return_seal"]["due_date"] == "${return_date + 'T18:00:00'}"


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
