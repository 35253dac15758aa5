"""Deploying a broken drawing over the API: 422 naming each broken element with its line and
file, every problem at once, nothing stored; a doubtful one deploys with a warning. The cases
are those of tests/processes/test_bpmn_structure.py."""

from __future__ import annotations

import pytest

from tests.conftest import deploy_bytes
from tests.processes.test_bpmn_structure import CASES, GATE, doc, flow, line_of, task


@pytest.mark.parametrize("name", CASES)
def test_a_broken_structure_is_answered_naming_the_element_and_line(api, name):
    dana = api("dana", roles=["designer"])
    lines, element, words, severity = CASES[name]
    data = doc(*lines)
    resp = deploy_bytes(dana, {"p.bpmn": data})
    body = resp.get_json()
    if severity == "warning":
        assert resp.status_code == 201, body
        found = body["warnings"]
    else:
        assert resp.status_code == 422, body
        assert body["error"]["code"] == "invalid_process"
        found = body["error"]["problems"]
        assert dana.get("/api/v1/processes").get_json() == []
    mine = [p for p in found if words in p["message"]]
    assert [(p["element"], p["line"], p["severity"], p["file"]) for p in mine[:1]] == [
        (element, line_of(data, element), severity, "p.bpmn")], found


def test_two_flows_to_a_missing_element_are_named_not_guessed_at(api):
    """The issue's flow: SpiffWorkflow said "perhaps a form has the same ID? (nowhere)"."""
    dana = api("dana", roles=["designer"])
    data = doc(*GATE, flow("f2", "g", "nowhere", "${decision == 'a'}"),
               flow("f3", "g", "nowhere", "${decision == 'b'}"), pid="x")
    resp = deploy_bytes(dana, {"x.bpmn": data})
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert "perhaps a form" not in str(error)
    assert error["message"].startswith(
        "the BPMN was refused: sequence flow 'f2' points at 'nowhere', which is not an element "
        "of process 'x'")
    assert [(p["element"], p["line"]) for p in error["problems"]] == [
        ("f2", line_of(data, "f2")), ("f3", line_of(data, "f3"))]


def test_every_structural_problem_comes_back_in_one_answer(api):
    dana = api("dana", roles=["designer"])
    data = doc(*GATE, flow("f2", "g", "nowhere", "${a}"), task("orphan"),
               flow("f3", "orphan", "done"), flow("f4", "done", "t"),
               '<bpmn:callActivity id="call" calledElement="missing"/>', flow("f5", "call", "t"))
    resp = deploy_bytes(dana, {"p.bpmn": data})
    assert resp.status_code == 422
    problems = resp.get_json()["error"]["problems"]
    assert sorted((p["element"], p["line"]) for p in problems) == sorted(
        (e, line_of(data, e)) for e in ("f2", "f4", "orphan", "call", "call"))
