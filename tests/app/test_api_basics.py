"""API basics: identity, error format, lists, claims, the public CA."""

from __future__ import annotations

from cryptography import x509

from processes.flows import definitions
from tests.conftest import only_task, submit


def test_no_identity_is_401_with_the_error_format(client):
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthenticated"
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer sf_nope"})
    assert bad.status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic eDp5"}).status_code == 401


def test_me_lists_groups_and_roles(api):
    carl = api("carl", groups=["sales"], roles=["auditor"])
    assert carl.get("/api/v1/me").get_json() == {
        "id": 1, "name": "carl", "display_name": "carl", "groups": ["sales"],
        "roles": ["auditor"], "email": None, "out_of_office": None}


def test_unknown_routes_and_methods_answer_json(api):
    carl = api("carl")
    assert carl.get("/api/v1/nothing").get_json()["error"]["code"] == "not_found"
    assert carl.post("/api/v1/me").status_code == 405


def test_seals_list(org):
    seals = org.alice.get("/api/v1/seals").get_json()
    assert len(seals) == 1
    assert seals[0]["custodians"] == ["carol"]
    assert seals[0]["status"] == "active"
    assert seals[0]["certificate_serial"]


def test_public_ca_certificates(org, client, pki_material):
    resp = client.get("/pki/ca")
    assert resp.status_code == 200
    certs = x509.load_pem_x509_certificates(resp.data)
    assert len(certs) == 2
    assert certs[0].subject == pki_material["root"].certificate().subject


def test_claim_then_only_the_claimant_completes(org, pdf, api, make_user):
    # Alice is in two departments: either head may take the task; a claim reserves it.
    bert = api("bert", head_of=["sales2"])
    make_user("alice", groups=["sales2"])
    submit(org.alice, org.seal_id, pdf)
    task = only_task(org.bob)
    assert only_task(bert)["id"] == task["id"]
    claimed = org.bob.post(f"/api/v1/tasks/{task['id']}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["claimed_by"] == "bob"
    assert bert.get("/api/v1/tasks").get_json() == []
    resp = bert.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert resp.status_code == 403
    assert bert.post(f"/api/v1/tasks/{task['id']}/unclaim").status_code == 403
    assert org.bob.post(f"/api/v1/tasks/{task['id']}/unclaim").status_code == 200
    assert only_task(bert)["id"] == task["id"]


def test_lists_paginate_and_filter(org, pdf):
    for _ in range(3):
        submit(org.alice, org.seal_id, pdf)
    assert len(org.alice.get("/api/v1/requests?limit=2").get_json()) == 2
    assert len(org.alice.get("/api/v1/requests?limit=2&offset=2").get_json()) == 1
    assert len(org.alice.get("/api/v1/requests?status=running").get_json()) == 3
    assert org.alice.get("/api/v1/requests?status=sealed").get_json() == []
    assert org.alice.get("/api/v1/requests?status=bogus").status_code == 400
    assert org.alice.get("/api/v1/requests?limit=0").status_code == 400
    assert org.bob.get("/api/v1/requests").get_json() == []  # not his requests
    assert len(org.bob.get("/api/v1/tasks").get_json()) == 3


def test_auditors_see_every_request(org, pdf, api):
    submit(org.alice, org.seal_id, pdf)
    audrey = api("audrey", roles=["auditor"])
    listed = audrey.get("/api/v1/requests").get_json()
    assert len(listed) == 1
    assert audrey.get(f"/api/v1/requests/{listed[0]['id']}").status_code == 200


def test_business_types_route_requests_to_their_flow(org, pdf, api):
    from app.extensions import db
    from processes.db import unit_of_work
    with org.alice.client.application.app_context(), unit_of_work(db.session):
        definitions.add_business_type(db.session, "contract", "contract_seal", "合同用印")
    assert org.alice.get("/api/v1/business-types").get_json() == [
        {"key": "contract", "name": "合同用印", "process": "contract_seal"}]
    resp = submit(org.alice, org.seal_id, pdf, process="", business_type="contract")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["business_type"] == "contract"
    assert resp.get_json()["process"]["key"] == "contract_seal"
