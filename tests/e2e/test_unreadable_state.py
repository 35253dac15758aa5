"""Item 2 of issue 8: a requester could make a seal impossible to revoke by sending data nested
900 levels deep; loading that instance recursed past Python's limit, so revoking the seal, and
every other operation that loads the request, ended in a RecursionError.

Data is now bounded where it enters (a 422 naming the field); a request whose stored state
cannot be read anyway (planted here as an older version stored it) becomes an incident of its
own, and revoking, suspending, migrating and the rest finish for every other request."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography import x509
from sqlalchemy import select, text

from app.extensions import db
from app.jobs import runner
from processes.db import unit_of_work
from processes.models import (
    AuditEvent,
    GrantStatus,
    Request,
    RequestStatus,
    Seal,
    SigningGrant,
    utcnow,
)
from processes.pki import revocation
from processes.seal_models import SealUsage
from tests.conftest import CONTRACT_BPMN, deploy_bytes, submit

DEEP = 928
"""The deepest list the previous version accepted in a request's data (measured: 929 gave a
500), deeper than Python's parser manages within a web request's stack."""


def deep_json(levels: int) -> str:
    return "[" * levels + "]" * levels


def plant_deep_state(app, request_id: int, levels: int = DEEP) -> None:
    """What an older Sealflow stored for ``{"x": [[[...]]]}``: the nested list in the request's
    data and in the data of every task of its instance (as JSON text: too deep to encode)."""
    with app.app_context(), unit_of_work(db.session):
        req = db.session.get(Request, request_id)
        state = json.loads(req.state)
        for task in state["tasks"].values():
            task["data"]["x"] = "__deep__"
        texts = {"state": json.dumps(state), "data": json.dumps({**req.data, "x": "__deep__"})}
        db.session.execute(text("UPDATE requests SET state = :state, data = :data WHERE id = :id"),
                           {name: value.replace('"__deep__"', deep_json(levels))
                            for name, value in texts.items()} | {"id": request_id})


def task_of(client, request_id: int) -> dict:
    return next(t for t in client.get("/api/v1/tasks").get_json()
                if t["request_id"] == request_id)


def decide(client, request_id: int, decision: str = "approve"):
    return client.post(f"/api/v1/tasks/{task_of(client, request_id)['id']}/complete",
                       json={"decision": decision})


def status(client, request_id: int) -> dict:
    resp = client.get(f"/api/v1/requests/{request_id}")
    assert resp.status_code == 200
    return resp.get_json()


def audit_details(app, action: str, request_id: int) -> list[dict]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.details).where(
            AuditEvent.action == action, AuditEvent.request_id == request_id)).scalars())


@pytest.fixture
def three(app, org, pdf):
    """On the contract seal: a planted unreadable request, another waiting for Bob, and one
    authorized whose grant waits for the sealing job."""
    runner(app).mode = "external"
    planted, waiting, authorized = (submit(org.alice, org.seal_id, pdf).get_json()["id"]
                                    for _ in range(3))
    assert decide(org.bob, authorized).status_code == 200
    assert decide(org.carol, authorized).status_code == 200
    assert status(org.alice, authorized)["status"] == "authorized"
    plant_deep_state(app, planted)
    return planted, waiting, authorized


def test_deep_request_data_task_data_and_message_payloads_are_refused_422(org, pdf):
    nested = json.loads(deep_json(30))  # deeper than the bound, well within the parser's
    resp = submit(org.alice, org.seal_id, pdf,
                  data={"amount": 50000, "purpose": "采购合同", "x": nested})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["problems"][0]["field"] == "x"
    assert "deeper than 20 levels" in resp.get_json()["error"]["message"]
    # 900 levels, the attack itself, in the multipart field
    resp = submit(org.alice, org.seal_id, pdf, data={"x": json.loads(deep_json(DEEP))})
    assert resp.status_code == 422
    for too_much, field in (({"x": "a" * 70_000}, "data"), ({"x": 2**64}, "x"),
                            ({"x": "a\u0000b"}, "data")):
        resp = submit(org.alice, org.seal_id, pdf, data={"amount": 1, "purpose": "p",
                                                         **too_much})
        assert resp.status_code == 422, (too_much, resp.get_json())
        assert resp.get_json()["error"]["problems"][0]["field"] == field
    assert org.alice.get("/api/v1/requests").get_json() == []  # nothing was stored

    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    task = task_of(org.bob, rid)
    resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                        json={"decision": "approve", "data": {"comment_x": nested}})
    assert resp.status_code == 422, resp.get_json()
    assert "deeper than 20 levels" in resp.get_json()["error"]["message"]
    resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete", data={
        "decision": "approve", "data": json.dumps({"y": nested})},
        content_type="multipart/form-data")
    assert resp.status_code == 422, resp.get_json()
    # a body nested past what any body of the API needs is malformed: 400
    resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                        data='{"decision": "approve", "comment": ' + deep_json(DEEP) + "}",
                        content_type="application/json")
    assert resp.status_code == 400, resp.get_json()

    resp = org.alice.post(f"/api/v1/requests/{rid}/messages/signed", json={"x": nested})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["problems"][0]["field"] == "x"
    assert "payload.x" in resp.get_json()["error"]["message"]
    resp = org.alice.post(f"/api/v1/requests/{rid}/messages/signed",
                          data=deep_json(100_000), content_type="application/json")
    assert resp.status_code == 400  # the parser's own recursion limit: malformed, not a 500
    assert status(org.alice, rid)["status"] == "running"
    assert task_of(org.bob, rid)["id"] == task["id"]


def test_the_cli_revokes_a_seal_whose_requests_include_an_unreadable_one(app, org, three,
                                                                        pki_material):
    planted, waiting, authorized = three
    out = app.test_cli_runner().invoke(args=["seal", "revoke", str(org.seal_id),
                                             "--reason", "私钥泄露"])
    assert out.exit_code == 0, (out.output, out.exception)
    for rid in three:
        body = status(org.alice, rid)
        assert body["status"] == "failed", body
        assert f"seal {org.seal_id} was revoked: 私钥泄露" in body["failure"]
    assert org.bob.get("/api/v1/tasks").get_json() == []
    [failed] = audit_details(app, "request.failed", planted)
    assert "RecursionError" in failed["state_unreadable"]
    with app.app_context():
        seal = db.session.get(Seal, org.seal_id)
        grant = db.session.execute(select(SigningGrant).where(
            SigningGrant.request_id == authorized)).scalar_one()
        used = db.session.execute(select(SealUsage.used).where(
            SealUsage.seal_id == org.seal_id, SealUsage.period == "total")).scalar_one()
        listed = x509.load_der_x509_crl(revocation.latest(db.session).der)
        serial = x509.load_pem_x509_certificate(seal.cert_pem).serial_number
        assert seal.status.value == "revoked"
        assert grant.status == GrantStatus.failed and not grant.reserved and used == 0
        assert listed.get_revoked_certificate_by_serial_number(serial) is not None


def test_the_seal_page_suspends_resumes_and_revokes_past_an_unreadable_request(
        app, org, three, login, make_user):
    planted, waiting, authorized = three
    carol = login("carol")
    assert carol.get(f"/requests/{planted}").status_code == 200  # its page, and lists, show it
    assert carol.get("/requests").status_code == 200
    assert org.alice.get("/api/v1/requests").status_code == 200
    # The custodian suspends; resuming and revoking directly are an administrator's.
    make_user("root", roles=["admin"])
    root = login("root")
    for who, to, expected in ((carol, "suspended", "halted"), (root, "active", None),
                              (root, "revoked", "failed")):
        resp = who.post(f"/seals/{org.seal_id}/status", data={
            "to": to, "reason": "印章送检", "confirm_name": "测试科技有限公司合同专用章"})
        assert resp.status_code == 302, resp.text
        if expected:
            assert status(org.alice, waiting)["status"] == expected
    assert status(org.alice, authorized)["status"] == "failed"
    assert status(org.alice, planted)["status"] == "failed"
    with app.app_context():
        assert db.session.get(Seal, org.seal_id).status.value == "revoked"


def test_migration_refuses_an_unreadable_request_and_moves_the_others(app, org, three, api):
    planted, waiting, _authorized = three
    root = api("root", roles=["admin"])
    v2 = CONTRACT_BPMN.read_text(encoding="utf-8").replace('name="部门负责人审批"',
                                                           'name="部门负责人审批 v2"')
    assert v2 != CONTRACT_BPMN.read_text(encoding="utf-8")
    table = (CONTRACT_BPMN.parent / "contract_routing.dmn").read_bytes()
    resp = deploy_bytes(org.designer, {"contract_seal.bpmn": v2.encode(),
                                       "contract_routing.dmn": table})
    assert resp.status_code == 201 and resp.get_json()["version"] == 2
    for dry_run in (True, False):
        resp = root.post("/api/v1/processes/contract_seal/migrate",
                         json={"from": 1, "to": 2, "dry_run": dry_run})
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["moved"] == [waiting]
        [refused] = body["refused"]
        assert refused["request"] == planted and "cannot be read" in refused["reason"]
        assert status(org.alice, planted)["status"] == ("running" if dry_run else "incident")
    assert status(org.alice, waiting)["process"]["version"] == 2
    [incident] = audit_details(app, "request.incident", planted)
    assert "RecursionError" in incident["message"]


def test_every_other_operation_makes_it_an_incident_or_ends_it(app, org, three, api):
    planted, waiting, _authorized = three
    root = api("root", roles=["admin"])
    # Bob works his task of the planted request: it becomes an incident, not a 500.
    resp = decide(org.bob, planted)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["request"]["status"] == "incident"
    assert "cannot be read" in status(org.alice, planted)["failure"]
    resp = root.post(f"/api/v1/requests/{planted}/retry")
    assert resp.status_code == 200 and resp.get_json()["status"] == "incident"
    # a message, and a due timer, on an unreadable (running) request
    with app.app_context(), unit_of_work(db.session):
        req = db.session.get(Request, planted)
        req.status = RequestStatus.running
        req.timer_due_at = utcnow() - timedelta(minutes=1)
    runner(app).sweep()
    assert status(org.alice, planted)["status"] == "incident"
    with app.app_context(), unit_of_work(db.session):
        db.session.get(Request, planted).status = RequestStatus.running
    resp = org.alice.post(f"/api/v1/requests/{planted}/messages/signed", json={"by": "crm"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "incident"
    # the requester can still withdraw it; the other request never noticed
    resp = org.alice.post(f"/api/v1/requests/{planted}/withdraw", json={"reason": "不要了"})
    assert resp.status_code == 200 and resp.get_json()["status"] == "withdrawn"
    assert decide(org.bob, waiting).status_code == 200
    assert task_of(org.carol, waiting)["element_id"] == "custodian_approve"


def test_data_at_the_limits_is_accepted_and_one_level_more_is_not(org, pdf):
    nested: object = "leaf"
    for _ in range(19):  # in the data object: 20 levels of objects and lists
        nested = [nested]
    data = {"amount": 50000, "purpose": "采购合同", "x": nested, "n": 2**63 - 1}
    resp = submit(org.alice, org.seal_id, pdf, data=data)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["data"] == data
    resp = submit(org.alice, org.seal_id, pdf, data={**data, "x": [nested]})
    assert resp.status_code == 422, resp.get_json()
