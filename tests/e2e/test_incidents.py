"""Incidents, not crashes: a designer's mistake stops the request with the element and message;
an admin retries it after the fix. A failed sealing can be retried too."""

from __future__ import annotations

from app.extensions import db
from processes.db import unit_of_work
from processes.people import directory
from tests.conftest import approve, deploy_bytes, submit

BAD_CONDITION = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="fragile" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check" />
    <bpmn:userTask id="check" camunda:candidateUsers="${seal_custodians}" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f4" />
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="ok">
      <bpmn:conditionExpression>${risk_score &gt; 3}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="ok" />
    <bpmn:endEvent id="ok"><bpmn:extensionElements><camunda:properties>
      <camunda:property name="outcome" value="authorized" /></camunda:properties>
    </bpmn:extensionElements></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def test_an_expression_error_is_an_incident_and_a_retry_resumes_it(org, pdf, api, app):
    assert deploy_bytes(org.designer, {"fragile.bpmn": BAD_CONDITION}).status_code == 201
    req = submit(org.alice, org.seal_id, pdf, process="fragile", data={}).get_json()
    resp = approve(org.carol)
    assert resp.status_code == 200  # the approver's work is kept, never a 500
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "incident"
    assert body["failure"].startswith("gw:") and "risk_score" in body["failure"]
    assert [h["element"] for h in body["history"]] == ["check"]

    admin = api("root", roles=["admin"])
    assert org.alice.post(f"/api/v1/requests/{req['id']}/retry").status_code == 403
    # Still broken: the retry reports the incident again.
    again = admin.post(f"/api/v1/requests/{req['id']}/retry")
    assert again.status_code == 200 and again.get_json()["status"] == "incident"
    # The fix here is data the flow expected; a retry after it runs on to the seal.
    with app.app_context(), unit_of_work(db.session):
        from processes.models import Request
        r = db.session.get(Request, req["id"])
        from processes.flows import engine
        wf = engine.load(r.process, r.state)
        for t in wf.get_tasks():
            t.data["risk_score"] = 1
        r.state, r.state_version = engine.dump(wf)
    fixed = admin.post(f"/api/v1/requests/{req['id']}/retry")
    assert fixed.status_code == 200, fixed.get_json()
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"
    assert admin.post(f"/api/v1/requests/{req['id']}/retry").status_code == 409


def test_a_task_nobody_may_work_resumes_once_someone_may(org, pdf, api, app):
    body = submit(org.bob, org.seal_id, pdf).get_json()  # bob heads his own department
    assert body["status"] == "incident"
    with app.app_context(), unit_of_work(db.session):
        directory.add_user(db.session, "vera")
        directory.add_group(db.session, "board", head="vera")
        directory.add_user(db.session, "bob", groups=["board"])
    admin = api("root", roles=["admin"])
    resumed = admin.post(f"/api/v1/requests/{body['id']}/retry").get_json()
    assert resumed["status"] == "running"
    assert [t["candidate_users"] for t in resumed["tasks"]] == [["vera"]]


def test_a_failed_sealing_is_retried_by_an_admin(org, pdf, api, app):
    from app.jobs import runner
    from processes import documents
    from processes.models import Request
    runner(app).mode = "external"
    req = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    with app.app_context():
        r = db.session.get(Request, req["id"])
        from app.context import env
        path = documents.path_for(env(), r.document.sha256)
        original = path.read_bytes()
        path.write_bytes(b"%PDF-1.4 tampered")
        db.session.rollback()
    runner(app).sweep()
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "failed"
    path.write_bytes(original)  # the operator restores the file from backup
    admin = api("root", roles=["admin"])
    resp = admin.post(f"/api/v1/requests/{req['id']}/retry")
    assert resp.status_code == 200 and resp.get_json()["status"] == "authorized"
    runner(app).sweep()
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"


def test_an_admin_corrects_a_variable_with_the_retry(org, pdf, api):
    assert deploy_bytes(org.designer, {"fragile.bpmn": BAD_CONDITION}).status_code == 201
    req = submit(org.alice, org.seal_id, pdf, process="fragile", data={}).get_json()
    approve(org.carol)
    admin = api("root", roles=["admin"])
    url = f"/api/v1/requests/{req['id']}/retry"
    assert admin.post(url, json={"variables": [1]}).status_code == 400
    builtin = admin.post(url, json={"variables": {"seal_custodians": ["root"]}})
    assert builtin.status_code == 422
    assert org.alice.post(url, json={"variables": {"risk_score": 1}}).status_code == 403
    fixed = admin.post(url, json={"variables": {"risk_score": 5}})
    assert fixed.status_code == 200 and fixed.get_json()["status"] in ("authorized", "sealed")
