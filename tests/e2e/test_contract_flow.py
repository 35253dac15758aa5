"""The shipped contract flow end to end over the HTTP API; the sealed PDFs are PAdES B-T, with
timestamps from Sealflow's own TSA reached over real HTTP (the ``live_tsa`` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from processes.models import AuditEvent
from processes.people.directory import Identity, get_user
from processes.requests import withdrawal
from tests.conftest import approve, only_task, submit
from tests.holding import held_open, waiting
from tests.pdfcheck import assert_timestamped


def _sealed_bytes(client, request_id: int) -> bytes:
    resp = client.get(f"/api/v1/requests/{request_id}/sealed")
    assert resp.status_code == 200, resp.get_json()
    data = resp.data
    resp.close()
    return data


def test_small_contract_skips_legal_and_is_sealed(org, pdf, trust_roots, ca_pems, live_tsa):
    resp = submit(org.alice, org.seal_id, pdf, data={"amount": 50000, "purpose": "采购合同"})
    assert resp.status_code == 201, resp.get_json()
    req = resp.get_json()
    assert req["status"] == "running"
    assert req["requester"] == "alice"
    assert [t["element_id"] for t in req["tasks"]] == ["dept_head_approve"]
    assert org.alice.get(f"/api/v1/requests/{req['id']}/sealed").status_code == 404

    after_bob = approve(org.bob).get_json()["request"]
    assert [t["element_id"] for t in after_bob["tasks"]] == ["custodian_approve"]
    assert org.lily.get("/api/v1/tasks").get_json() == []

    final = approve(org.carol, "准予用印").get_json()["request"]
    # Inline job mode: sealing ran right after the commit.
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert final["status"] in ("authorized", "sealed")
    assert body["status"] == "sealed", body
    assert [(h["element"], h["by"], h["decision"]) for h in body["history"]] == [
        ("dept_head_approve", "bob", "approve"), ("custodian_approve", "carol", "approve")]
    assert body["history"][1]["comment"] == "准予用印"
    sealed = _sealed_bytes(org.alice, req["id"])
    assert body["sealed_document"]["sha256"] != body["document"]["sha256"]
    # The sealed file is an incremental update of exactly the submitted bytes.
    assert sealed.startswith(pdf)
    reports = assert_timestamped(sealed, trust_roots, ca_pems)
    assert reports[0].signer == "测试科技有限公司合同专用章"


def test_large_contract_goes_through_legal_review(org, pdf, trust_roots, ca_pems, live_tsa):
    req = submit(org.alice, org.seal_id, pdf,
                 data={"amount": 2_500_000, "purpose": "框架协议", "counterparty": "甲公司"}
                 ).get_json()
    assert approve(org.bob).status_code == 200
    legal = only_task(org.lily)
    assert legal["element_id"] == "legal_review"
    assert [f["id"] for f in legal["form"]] == ["legal_opinion"]
    assert legal["form"][0]["required"] is True
    # The required form field is enforced on the server.
    missing = org.lily.post(f"/api/v1/tasks/{legal['id']}/complete",
                            json={"decision": "approve"})
    assert missing.status_code == 422
    assert missing.get_json()["error"]["problems"][0]["field"] == "legal_opinion"
    assert approve(org.lily, legal_opinion="条款无误").status_code == 200
    assert approve(org.carol).status_code == 200
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "sealed"
    assert [h["element"] for h in body["history"]] == [
        "dept_head_approve", "legal_review", "custodian_approve"]
    assert_timestamped(_sealed_bytes(org.alice, req["id"]), trust_roots, ca_pems)


@pytest.mark.parametrize("rejecter", ["bob", "carol"])
def test_rejection_ends_the_request_unsealed(org, pdf, rejecter):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    if rejecter == "carol":
        approve(org.bob)
    task = only_task(getattr(org, rejecter))
    resp = getattr(org, rejecter).post(f"/api/v1/tasks/{task['id']}/complete",
                                       json={"decision": "reject", "comment": "金额有误"})
    assert resp.status_code == 200
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "rejected"
    assert body["tasks"] == []
    assert body["history"][-1]["decision"] == "reject"
    assert org.alice.get(f"/api/v1/requests/{req['id']}/sealed").status_code == 404
    assert org.carol.get("/api/v1/tasks").get_json() == []


def test_a_user_outside_the_candidates_gets_403(org, pdf, api):
    submit(org.alice, org.seal_id, pdf)
    task = only_task(org.bob)
    # Carol can see the request (custodian of its seal) but is not a candidate of this task.
    resp = org.carol.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert resp.status_code == 403
    assert resp.get_json()["error"]["code"] == "forbidden"
    # Someone unrelated cannot even see the task: 404, like the request itself.
    mallory = api("mallory")
    resp = mallory.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert resp.status_code == 404
    assert mallory.get(f"/api/v1/requests/{task['request_id']}").status_code == 404


def test_the_requester_cannot_approve_their_own_request(org, pdf, make_user):
    # Alice is also in legal (法务部): the legal task is offered to the group, but never to her.
    make_user("alice", groups=["legal"])
    req = submit(org.alice, org.seal_id, pdf,
                 data={"amount": 3_000_000, "purpose": "并购协议"}).get_json()
    approve(org.bob)
    assert org.alice.get("/api/v1/tasks").get_json() == []
    task = only_task(org.lily)
    resp = org.alice.post(f"/api/v1/tasks/{task['id']}/complete",
                          json={"decision": "approve", "data": {"legal_opinion": "ok"}})
    assert resp.status_code == 403
    assert "own request" in resp.get_json()["error"]["message"]
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "running"


def test_completing_a_task_twice_gets_409(org, pdf):
    submit(org.alice, org.seal_id, pdf)
    task = only_task(org.bob)
    first = org.bob.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert first.status_code == 200
    again = org.bob.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "conflict"


def test_a_non_pdf_upload_gets_422(org):
    resp = submit(org.alice, org.seal_id, b"GIF89a not a pdf at all")
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["problems"][0]["field"] == "document"
    assert "PDF" in err["message"]
    assert org.alice.get("/api/v1/requests").get_json() == []


def test_missing_required_start_field_gets_422(org, pdf):
    resp = submit(org.alice, org.seal_id, pdf, data={"purpose": "无金额"})
    assert resp.status_code == 422
    assert [p["field"] for p in resp.get_json()["error"]["problems"]] == ["amount"]
    resp = submit(org.alice, org.seal_id, pdf, data={"amount": "很多", "purpose": "x"})
    assert resp.status_code == 422


def test_builtin_variables_cannot_be_set_by_the_requester(org, pdf):
    resp = submit(org.alice, org.seal_id, pdf,
                  data={"amount": 1, "purpose": "x", "requester_heads": ["alice"]})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["problems"][0]["field"] == "requester_heads"


def test_a_task_may_set_only_its_own_fields(org, pdf):
    submit(org.alice, org.seal_id, pdf)
    task = only_task(org.bob)
    resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                        json={"decision": "approve", "data": {"amount": 1}})
    assert resp.status_code == 422
    resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "maybe"})
    assert resp.status_code == 422


def test_withdraw_while_running_then_not_after(org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    # Bob sees the request (he has a task on it) but only the requester may withdraw.
    assert org.bob.post(f"/api/v1/requests/{req['id']}/withdraw",
                          json={"reason": "不要了"}).status_code == 403
    resp = org.alice.post(f"/api/v1/requests/{req['id']}/withdraw", json={"reason": "不要了"})
    assert resp.status_code == 200
    assert resp.get_json()["status"] == "withdrawn"
    assert org.bob.get("/api/v1/tasks").get_json() == []
    assert org.alice.post(f"/api/v1/requests/{req['id']}/withdraw",
                          json={"reason": "不要了"}).status_code == 409


def test_idempotency_key_returns_the_first_request(org, pdf):
    first = submit(org.alice, org.seal_id, pdf, headers={"Idempotency-Key": "order-42"})
    again = submit(org.alice, org.seal_id, pdf, headers={"Idempotency-Key": "order-42"})
    assert first.status_code == 201 and again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert len(org.alice.get("/api/v1/requests").get_json()) == 1


def test_a_withdrawal_waiting_for_another_sees_the_request_as_the_first_left_it(app, org, pdf):
    """Two withdrawals at once: the second reads the request (running), then waits for the
    first's lock; once granted, it sees the request withdrawn (not the copy it read before the
    lock) and is refused. One withdrawal is recorded."""
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    with held_open(app, lambda s: withdrawal.withdraw(s, Identity(get_user(s, "alice")), rid,
                                                      "no longer needed")):
        second = waiting(lambda: org.alice.post(f"/api/v1/requests/{rid}/withdraw",
                                                json={"reason": "不要了"}))
    assert second().status_code == 409, second().get_json()
    with app.app_context():
        withdrawn = db.session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.request_id == rid, AuditEvent.action == "request.withdrawn")).scalar()
        db.session.rollback()
    assert withdrawn == 1
