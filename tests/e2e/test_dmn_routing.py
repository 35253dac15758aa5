"""DMN routing over the API: a business rule task picks the approvers from a decision table
deployed with the flow; a manager changes the thresholds by deploying a new table; a UNIQUE table
whose rules overlap stops the request with an incident naming the task."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import approve, deploy_bytes, only_task, submit
from tests.pdfcheck import assert_sealed

ROUTING = Path(__file__).resolve().parents[1] / "processes" / "data" / "dmn" / "contract_routing"
BPMN = (ROUTING / "contract_dmn.bpmn").read_bytes()
TABLE_V1 = (ROUTING / "contract_route.dmn").read_bytes()  # legal review from 100,000
TABLE_V2 = (ROUTING / "contract_route_v2.dmn").read_bytes()  # legal review from 500,000
OVERLAP = (ROUTING / "contract_route_overlap.dmn").read_bytes()  # UNIQUE, rules overlap


def _deploy(who, table: bytes, *, table_first: bool = False):
    files = {"contract_dmn.bpmn": BPMN, "contract_route.dmn": table}
    if table_first:
        files = dict(reversed(list(files.items())))
    return deploy_bytes(who, files)


def _request(org, pdf, amount: int, contract_type: str = "sales") -> dict:
    resp = submit(org.alice, org.seal_id, pdf, process="contract_dmn",
                  data={"amount": amount, "contract_type": contract_type})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _status(org, req: dict) -> dict:
    return org.alice.get(f"/api/v1/requests/{req['id']}").get_json()


def test_the_table_picks_the_approvers_and_a_new_table_routes_new_requests(org, pdf, api,
                                                                          trust_roots):
    first = _deploy(org.designer, TABLE_V1, table_first=True)
    assert first.status_code == 201, first.get_json()
    assert (first.get_json()["key"], first.get_json()["version"]) == ("contract_dmn", 1)

    # 200,000 on a sales contract: the custodian approves, then Legal reviews.
    big = _request(org, pdf, 200000)
    task = only_task(org.carol)
    assert (task["element_id"], task["candidate_users"]) == ("approve", ["carol"])
    assert org.bob.get("/api/v1/tasks").get_json() == []
    assert approve(org.carol).status_code == 200
    assert only_task(org.lily)["element_id"] == "legal_review"
    assert approve(org.lily).status_code == 200
    assert _status(org, big)["status"] == "sealed"
    resp = org.alice.get(f"/api/v1/requests/{big['id']}/sealed")
    assert_sealed(resp.data, trust_roots)
    resp.close()

    # Small amounts go to the department head and skip Legal.
    small = _request(org, pdf, 5000, "purchase")
    assert only_task(org.bob)["element_id"] == "approve"
    assert approve(org.bob).status_code == 200
    assert _status(org, small)["status"] == "sealed"

    # A request in flight when the manager changes the thresholds stays on version 1.
    in_flight = _request(org, pdf, 200000, "purchase")
    mona = api("mona", roles=["manager"])
    second = _deploy(mona, TABLE_V2)
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["version"] == 2
    assert _deploy(mona, TABLE_V2).status_code == 200  # identical files: no new version

    after = _request(org, pdf, 200000)
    assert _status(org, after)["process"] == {"key": "contract_dmn", "version": 2}
    task = only_task(org.bob)
    assert (task["request_id"], task["candidate_users"]) == (after["id"], ["bob"])
    assert approve(org.bob).status_code == 200
    assert _status(org, after)["status"] == "sealed"
    assert org.lily.get("/api/v1/tasks").get_json() == []

    assert only_task(org.carol)["request_id"] == in_flight["id"]
    assert approve(org.carol).status_code == 200
    assert only_task(org.lily)["request_id"] == in_flight["id"]
    assert approve(org.lily).status_code == 200
    assert _status(org, in_flight)["status"] == "sealed"


def test_overlapping_rules_in_a_unique_table_are_an_incident_naming_the_task(org, pdf):
    assert _deploy(org.designer, OVERLAP).status_code == 201
    req = _request(org, pdf, 200000, "purchase")
    assert req["status"] == "incident"
    assert req["tasks"] == []
    assert req["failure"].startswith("pick_approvers: ")
    assert "UNIQUE" in req["failure"]
    assert "Rule_large_external, Rule_large_internal" in req["failure"]
    assert _status(org, req)["status"] == "incident"

    # Where only one rule matches, the same table routes normally.
    fine = _request(org, pdf, 5000)
    assert fine["status"] == "running"
    assert only_task(org.bob)["request_id"] == fine["id"]


def test_a_bad_cell_and_an_unknown_decision_are_refused_with_every_problem(org):
    bad_table = TABLE_V1.replace(b"<text>&gt;= 100000</text>", b"<text>&gt;= 100000 + 1</text>",
                                 1)
    bad_flow = BPMN.replace(b'camunda:decisionRef="contract_route"',
                            b'camunda:decisionRef="contract_routing"')
    resp = deploy_bytes(org.designer, {"contract_dmn.bpmn": bad_flow,
                                       "contract_route.dmn": bad_table})
    assert resp.status_code == 422
    problems = {p["element"]: p for p in resp.get_json()["error"]["problems"]}
    assert problems["Rule_large_external"]["file"] == "contract_route.dmn"
    assert problems["Rule_large_external"]["line"] is not None
    assert "not a FEEL unary test" in problems["Rule_large_external"]["message"]
    assert "contract_routing" in problems["pick_approvers"]["message"]
    assert problems["pick_approvers"]["file"] == "contract_dmn.bpmn"

    resp = deploy_bytes(org.designer, {"contract_dmn.bpmn": BPMN})
    assert resp.status_code == 422
    assert "no DMN file" in resp.get_json()["error"]["problems"][0]["message"]
    assert [p["key"] for p in org.designer.get("/api/v1/processes").get_json()] == [
        "contract_seal"]
