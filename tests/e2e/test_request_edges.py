"""Requests at the edges: incidents, placement, size limits, a second seal on a sealed PDF."""

from __future__ import annotations

import hashlib
import io
import json

from tests.conftest import approve, make_pdf, only_task, submit
from tests.pdfcheck import assert_sealed


def test_a_task_nobody_may_work_is_an_incident_not_a_silent_wait(org, pdf):
    # Bob heads sales and asks himself: the only candidate is the requester, who is excluded.
    bob_in_sales = submit(org.bob, org.seal_id, pdf)
    assert bob_in_sales.status_code == 201
    body = bob_in_sales.get_json()
    assert body["status"] == "incident"
    assert "dept_head_approve" in body["failure"]
    assert "excluded as the requester" in body["failure"]
    assert body["tasks"] == []


def test_a_requester_without_a_department_head_is_an_incident(org, pdf, api):
    loner = api("loner")
    body = submit(loner, org.seal_id, pdf).get_json()
    assert body["status"] == "incident"


def test_placement_is_checked_against_the_document(org):
    doc = make_pdf(pages=2)
    resp = submit(org.alice, org.seal_id, doc,
                  placement=json.dumps({"page": 3, "x": 100, "y": 100}))
    assert resp.status_code == 422
    assert resp.get_json()["error"]["problems"][0]["field"] == "placement"
    resp = submit(org.alice, org.seal_id, doc,
                  placement=json.dumps({"page": 1, "x": 10000, "y": 100}))
    assert resp.status_code == 422
    resp = submit(org.alice, org.seal_id, doc, placement="{not json")
    assert resp.status_code == 422
    resp = submit(org.alice, org.seal_id, doc,
                  placement=json.dumps({"page": 1, "x": 72, "y": 72, "size": 100}))
    assert resp.status_code == 201
    assert resp.get_json()["placement"] == {"page": 1, "x": 72.0, "y": 72.0, "size": 100.0}


def test_default_placement_is_the_last_page_bottom_right(org):
    resp = submit(org.alice, org.seal_id, make_pdf(pages=3))
    placement = resp.get_json()["placement"]
    assert placement["page"] == 3
    assert placement["x"] > 595 / 2 and placement["y"] < 842 / 2
    assert placement["size"] == 119


def test_an_upload_over_the_limit_gets_413(app, org, pdf):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    big = pdf + b"%" + b"x" * 8192 + b"\n"
    resp = submit(org.alice, org.seal_id, big)
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "too_large"


def test_unknown_seal_process_or_business_type_is_refused(org, pdf):
    assert submit(org.alice, 999, pdf).status_code == 404
    assert submit(org.alice, org.seal_id, pdf, process="nope").status_code == 404
    resp = org.alice.post("/api/v1/requests", data={
        "business_type": "nope", "seal": str(org.seal_id),
        "document": (io.BytesIO(pdf), "c.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 422
    resp = org.alice.post("/api/v1/requests", data={"seal": "x"},
                          content_type="multipart/form-data")
    assert resp.status_code == 422


def test_a_second_seal_goes_on_the_sealed_output(org, pdf, trust_roots):
    first = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    sealed_resp = org.alice.get(f"/api/v1/requests/{first['id']}/sealed")
    once_sealed = sealed_resp.data
    sealed_resp.close()
    second = org.alice.post("/api/v1/requests", data={
        "process": "contract_seal", "seal": str(org.seal_id), "from_request": str(first["id"]),
        "data": json.dumps({"amount": 10, "purpose": "second seal"}),
        "placement": json.dumps({"page": 1, "x": 72, "y": 72})},
        content_type="multipart/form-data")
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["document"]["sha256"] == hashlib.sha256(once_sealed).hexdigest()
    approve(org.bob)
    approve(org.carol)
    resp = org.alice.get(f"/api/v1/requests/{second.get_json()['id']}/sealed")
    twice = resp.data
    resp.close()
    assert twice.startswith(once_sealed)
    assert_sealed(twice, trust_roots, signatures=2)


def test_from_request_needs_a_sealed_request_the_caller_can_see(org, pdf, api):
    first = submit(org.alice, org.seal_id, pdf).get_json()
    resp = org.alice.post("/api/v1/requests", data={
        "process": "contract_seal", "seal": str(org.seal_id), "from_request": str(first["id"]),
        "data": json.dumps({"amount": 1, "purpose": "x"})}, content_type="multipart/form-data")
    assert resp.status_code == 409
    stranger = api("stranger", groups=["sales"])
    resp = stranger.post("/api/v1/requests", data={
        "process": "contract_seal", "seal": str(org.seal_id), "from_request": str(first["id"]),
        "data": json.dumps({"amount": 1, "purpose": "x"})}, content_type="multipart/form-data")
    assert resp.status_code == 404


def test_history_and_tasks_show_in_the_request(org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    task = only_task(org.bob)
    assert task["request_id"] == req["id"]
    assert task["candidate_users"] == ["bob"]
    assert task["form"] == []  # the head decides and comments; the flow asks nothing more


def test_a_business_system_files_on_behalf_of_a_user_only_with_act_as(org, pdf, api):
    erp = api("erp", scopes=["act_as"])
    resp = submit(erp, org.seal_id, pdf, on_behalf_of="alice")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["requester"] == "alice"
    # The request is alice's: her head approves, she may withdraw it, she sees it as hers.
    assert only_task(org.bob)["request_id"] == body["id"]
    assert [r["id"] for r in org.alice.get("/api/v1/requests").get_json()] == [body["id"]]
    plain = api("crm")
    refused = submit(plain, org.seal_id, pdf, on_behalf_of="alice")
    assert refused.status_code == 403
    assert "act_as" in refused.get_json()["error"]["message"]
    assert submit(erp, org.seal_id, pdf, on_behalf_of="nobody").status_code == 404
