"""Messages from outside (POST /api/v1/requests/<id>/messages/<name>) and the withdraw signal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import approve, deploy, only_task, submit

FLOW = Path(__file__).parent / "data" / "messages" / "messages.bpmn"


@pytest.fixture
def flow(org):
    resp = deploy(org.designer, FLOW)
    assert resp.status_code == 201, resp.get_json()
    return org


def _start(org, pdf) -> int:
    return submit(org.alice, org.seal_id, pdf, process="messages", data={}).get_json()["id"]


def test_a_message_with_a_payload_moves_a_waiting_instance_on(flow, pdf, api):
    rid = _start(flow, pdf)
    early = flow.alice.post(f"/api/v1/requests/{rid}/messages/counterparty_signed",
                            json={"signed_copies": 2})
    assert early.status_code == 409  # nothing waits for it yet: the review is open
    assert approve(flow.carol).status_code == 200
    crm = api("crm", scopes=["messages"])
    outsider = api("nosy")
    assert outsider.post(f"/api/v1/requests/{rid}/messages/counterparty_signed",
                         json={}).status_code == 404
    bad = crm.post(f"/api/v1/requests/{rid}/messages/counterparty_signed",
                   json={"requester": "crm"})
    assert bad.status_code == 422  # built-in variables cannot be set from outside
    assert flow.carol.post(f"/api/v1/requests/{rid}/messages/counterparty_signed",
                           json={"signed_copies": 2}).status_code == 403  # sees it, may not
    assert crm.post(f"/api/v1/requests/{rid}/messages/counterparty_signed",
                    json=["not", "an", "object"]).status_code == 400
    too_few = crm.post(f"/api/v1/requests/{rid}/messages/counterparty_signed",
                       json={"signed_copies": 1})
    assert too_few.status_code == 200
    assert too_few.get_json()["status"] == "rejected"  # the payload took the default flow


def test_the_requester_delivers_the_message_and_the_payload_routes(flow, pdf):
    rid = _start(flow, pdf)
    approve(flow.carol)
    resp = flow.alice.post(f"/api/v1/requests/{rid}/messages/counterparty_signed",
                           json={"signed_copies": 2})
    assert resp.status_code == 200, resp.get_json()
    assert flow.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "sealed"
    again = flow.alice.post(f"/api/v1/requests/{rid}/messages/counterparty_signed",
                            json={"signed_copies": 2})
    assert again.status_code == 409


def test_a_message_boundary_interrupts_the_task(flow, pdf):
    rid = _start(flow, pdf)
    resp = flow.alice.post(f"/api/v1/requests/{rid}/messages/cancel", json={})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "rejected" and body["tasks"] == []
    assert flow.carol.get("/api/v1/tasks").get_json() == []


def test_withdraw_throws_the_signal_the_flow_catches(flow, pdf):
    rid = _start(flow, pdf)
    only_task(flow.carol)
    resp = flow.alice.post(f"/api/v1/requests/{rid}/withdraw", json={"reason": "不要了"})
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "withdrawn"
    assert flow.carol.get("/api/v1/tasks").get_json() == []
