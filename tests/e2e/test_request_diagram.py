"""Where a request is, on its flow's diagram (GET /api/v1/requests/<id>/diagram): the BPMN of
the request's version, what it finished and where it waits, for those who may see the request
and no one else."""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from processes.db import unit_of_work
from tests.conftest import approve, only_task, submit

# The contract flow up to the custodian, for a contract under the legal threshold.
TO_CUSTODIAN = ["submit", "flow_submit", "dept_head_approve", "flow_dept_head_done", "gw_dept",
                "flow_dept_approved", "route_contract", "flow_routed", "gw_amount",
                "flow_no_legal"]


def _diagram(client, request_id: int):
    return client.get(f"/api/v1/requests/{request_id}/diagram")


def test_after_one_approval_the_diagram_shows_the_path_taken_and_the_open_task(org, pdf, api):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    first = _diagram(org.alice, req["id"]).get_json()
    assert first["current"] == ["dept_head_approve"]
    assert first["done"] == ["flow_submit", "submit"]
    assert first["end"] is None

    approve(org.bob)
    auditor = api("audrey", roles=["auditor"])
    seen = {}
    for who in (org.alice, org.bob, org.carol, auditor):  # requester, approver, next, auditor
        resp = _diagram(who, req["id"])
        assert resp.status_code == 200, (who.user, resp.get_json())
        seen[who.user] = resp.get_json()
    body = seen["alice"]
    assert all(other == body for other in seen.values())
    assert body["process"] == {"key": "contract_seal", "version": 1}
    assert body["file"] == "contract_seal.bpmn"
    assert body["xml"] == org.designer.get(
        "/api/v1/processes/contract_seal/versions/1").get_json()["files"]["contract_seal.bpmn"]
    assert body["current"] == ["custodian_approve"]
    assert sorted(body["done"]) == sorted(TO_CUSTODIAN)
    # The branch not taken is not marked.
    assert not {"legal_review", "flow_needs_legal", "end_rejected"} & set(body["done"])
    assert body["end"] is None


def test_a_finished_request_is_at_its_end(org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    body = _diagram(org.alice, req["id"]).get_json()
    assert body["end"] == "end_authorized"
    assert body["current"] == ["end_authorized"]
    assert {"custodian_approve", "gw_custodian", "flow_custodian_approved"} <= set(body["done"])
    assert set(TO_CUSTODIAN) <= set(body["done"])


def test_a_rejected_request_ends_on_the_rejected_branch(org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    task = only_task(org.bob)
    org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                 json={"decision": "reject", "comment": "预算不足"})
    body = _diagram(org.alice, req["id"]).get_json()
    assert body["current"] == ["end_rejected"] and body["end"] == "end_rejected"
    assert {"dept_head_approve", "gw_dept", "flow_dept_rejected"} <= set(body["done"])
    assert "route_contract" not in body["done"]


def test_no_one_else_gets_the_flow(org, pdf, api, client):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    # Lily (legal) has no part in a contract under the threshold; a designer sees flows, not
    # requests. Both get what a request that does not exist gets.
    for stranger in (org.lily, org.designer):
        resp = _diagram(stranger, req["id"])
        assert resp.status_code == 404
        assert "xml" not in resp.get_json()
    assert _diagram(org.alice, 9999).status_code == 404
    anonymous = client.get(f"/api/v1/requests/{req['id']}/diagram")
    assert anonymous.status_code == 401


def test_a_state_that_cannot_be_read_still_shows_the_people_s_steps(app, org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(text("UPDATE requests SET state = '{broken' WHERE id = :id"),
                           {"id": req["id"]})
    resp = _diagram(org.alice, req["id"])
    assert resp.status_code == 200
    body = resp.get_json()
    # The inbox remembers the approval and the open task; the gateways and flows were the
    # engine's to tell.
    assert body["done"] == ["dept_head_approve"]
    assert body["current"] == ["custodian_approve"]
