"""A request never hangs in silence: an instance that has not ended and waits on nothing that
can come (no task anyone may work, no timer, no message the API can deliver) becomes an
incident naming the element where its token stopped, after the advance that left it so; the
scheduler's sweep finds those older versions left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from app.jobs import runner
from processes.db import unit_of_work
from processes.flows import bpmn, engine
from processes.models import AuditEvent, Request, TaskStatus
from processes.task_models import Task, TaskCandidate
from tests.conftest import approve, deploy, deploy_bytes, only_task, submit
from tests.e2e.test_approval_rules import END_AUTHORIZED, flow, plant

LANES = Path(__file__).parent / "data" / "manual_lane" / "manual_lane.bpmn"
MESSAGES = Path(__file__).parent / "data" / "messages" / "messages.bpmn"


def _after_the_custodian(key: str, waiting: str, definitions: str = "") -> bytes:
    """The custodian approves, then the token reaches ``waiting`` (whose id is ``stuck``)."""
    body = flow(key, f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="custodian" />
    <bpmn:userTask id="custodian" camunda:candidateUsers="${{seal_custodians}}" />
    <bpmn:sequenceFlow id="f2" sourceRef="custodian" targetRef="stuck" />
    {waiting}
    <bpmn:sequenceFlow id="f3" sourceRef="stuck" targetRef="authorized" />
    {END_AUTHORIZED}""")
    return body.replace(b"  <bpmn:process", definitions.encode() + b"\n  <bpmn:process", 1)


STRANDING = {
    # A signal only the flow could throw, and nothing throws it.
    "signal": ('<bpmn:intermediateCatchEvent id="stuck" name="Countersigned">'
               '<bpmn:signalEventDefinition signalRef="sig" /></bpmn:intermediateCatchEvent>',
               '<bpmn:signal id="sig" name="countersigned" />'),
    # A condition on data nothing will change.
    "condition": ('<bpmn:intermediateCatchEvent id="stuck" name="Paid">'
                  "<bpmn:conditionalEventDefinition><bpmn:condition>${paid}</bpmn:condition>"
                  "</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>", ""),
}


@pytest.mark.parametrize("kind", sorted(STRANDING))
def test_a_token_that_waits_on_nothing_is_an_incident_naming_the_element(org, pdf, api, app,
                                                                         kind):
    waiting, definitions = STRANDING[kind]
    key = f"stranded_{kind.replace(' ', '_')}"
    deployed = deploy_bytes(org.designer, {f"{key}.bpmn": _after_the_custodian(
        key, waiting, definitions)})
    assert deployed.status_code == 201, deployed.get_json()
    req = submit(org.alice, org.seal_id, pdf, process=key, data={"paid": False}).get_json()
    assert req["status"] == "running"

    done = approve(org.carol)
    assert done.status_code == 200
    assert done.get_json()["request"]["status"] == "incident"
    admin = api("root", roles=["admin"])
    body = admin.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "incident" and body["tasks"] == []
    assert body["failure"].startswith("stuck: ") and "waits on nothing" in body["failure"]
    with app.app_context():
        (event,) = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "request.incident",
            AuditEvent.request_id == req["id"])).scalars()
        assert event.details["element"] == "stuck"

    # Retrying runs it on; still stranded, it is an incident again, not a silent wait.
    again = admin.post(f"/api/v1/requests/{req['id']}/retry")
    assert again.status_code == 200 and again.get_json()["status"] == "incident"
    assert again.get_json()["failure"].startswith("stuck: ")


def test_a_receive_task_waits_for_its_message_and_it_comes_through_the_api(org, pdf):
    """A receive task waits for a message the API delivers (it used to wait for one of
    another kind, which nothing could send)."""
    key = "receive_paid"
    deployed = deploy_bytes(org.designer, {f"{key}.bpmn": _after_the_custodian(
        key, '<bpmn:receiveTask id="stuck" name="Paid" messageRef="msg" />',
        '<bpmn:message id="msg" name="paid" />')})
    assert deployed.status_code == 201, deployed.get_json()
    req = submit(org.alice, org.seal_id, pdf, process=key).get_json()
    assert approve(org.carol).get_json()["request"]["status"] == "running"
    sent = org.alice.post(f"/api/v1/requests/{req['id']}/messages/paid", json={})
    assert sent.status_code == 200, sent.get_json()
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"


def test_a_token_that_runs_out_of_flows_ends_the_request(app, org, pdf, monkeypatch):
    """An element with no outgoing flow is refused at deploy now; one an older version
    deployed ends the process there, as in Camunda: the request ends rejected (it never
    reached the authorized end), instead of running for ever."""
    dead_end = flow("dead_end", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="custodian" />
    <bpmn:userTask id="custodian" camunda:candidateUsers="${{seal_custodians}}" />
    <bpmn:sequenceFlow id="f2" sourceRef="custodian" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f_no" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="authorized">
      <bpmn:conditionExpression>${{decision == 'approve'}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="nowhere" />
    <bpmn:intermediateThrowEvent id="nowhere" name="Nowhere" />
    {END_AUTHORIZED}""")
    refused = deploy_bytes(org.designer, {"dead_end.bpmn": dead_end})
    assert refused.status_code == 422
    assert any(p["element"] == "nowhere" for p in refused.get_json()["error"]["problems"])
    monkeypatch.setattr(bpmn, "check_structure", lambda *_args: None)  # as before the check
    plant(app, {"dead_end.bpmn": dead_end})
    req = submit(org.alice, org.seal_id, pdf, process="dead_end").get_json()
    task = only_task(org.carol)
    done = org.carol.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "reject"})
    assert done.status_code == 200
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "rejected", body


def _strand_as_an_older_version_did(app, request_id: int) -> None:
    """What Sealflow before manual tasks were offered left: the instance at the manual task,
    no inbox row, no timer, the request running."""
    with app.app_context(), unit_of_work(db.session):
        ids = list(db.session.execute(select(Task.id).where(
            Task.request_id == request_id, Task.status == TaskStatus.open)).scalars())
        db.session.execute(delete(TaskCandidate).where(TaskCandidate.task_id.in_(ids)))
        db.session.execute(delete(Task).where(Task.id.in_(ids)))


def test_the_sweep_marks_a_request_an_older_version_left_waiting_on_nothing(org, pdf, api,
                                                                            app, monkeypatch):
    assert deploy(org.designer, LANES).status_code == 201
    assert deploy(org.designer, MESSAGES).status_code == 201
    stranded = submit(org.alice, org.seal_id, pdf, process="manual_lane").get_json()
    approve(org.bob)
    _strand_as_an_older_version_did(app, stranded["id"])
    # A request waiting for a message also has no task and no timer: it is left alone.
    waiting = submit(org.alice, org.seal_id, pdf, process="messages", data={}).get_json()
    approve(org.carol)
    assert org.alice.get(f"/api/v1/requests/{waiting['id']}").get_json()["tasks"] == []
    busy = submit(org.alice, org.seal_id, pdf, process="manual_lane").get_json()  # bob's turn

    loaded = []  # which instances the sweep restores (it restores them for real)
    restore = engine.load
    monkeypatch.setattr(engine, "load", lambda definition, state: loaded.append(
        definition.key) or restore(definition, state))
    jobs = runner(app)
    assert jobs.sweep_stalled() == 1
    admin = api("root", roles=["admin"])
    body = admin.get(f"/api/v1/requests/{stranded['id']}").get_json()
    assert body["status"] == "incident"
    assert body["failure"].startswith("check_original: ")
    assert org.alice.get(f"/api/v1/requests/{waiting['id']}").get_json()["status"] == "running"
    # Only the requests with no open task and no timer were restored: the stranded one (looked
    # at, then locked and marked), the one waiting for a message; never the busy one.
    assert sorted(loaded) == ["manual_lane", "manual_lane", "messages"]
    assert org.alice.get(f"/api/v1/requests/{busy['id']}").get_json()["status"] == "running"
    # The next sweep restores nothing: the message wait is unchanged, the incident is no
    # longer running.
    loaded.clear()
    assert jobs.sweep_stalled() == 0
    assert loaded == []
    monkeypatch.undo()

    # The retry offers the manual task to its lane, and the request goes on to its seal.
    resumed = admin.post(f"/api/v1/requests/{stranded['id']}/retry").get_json()
    assert resumed["status"] == "running"
    assert [t["element_id"] for t in resumed["tasks"]] == ["check_original"]
    task = only_task(org.lily)
    assert org.lily.post(f"/api/v1/tasks/{task['id']}/complete", json={}).status_code == 200
    approve(org.carol)
    with app.app_context():
        assert db.session.get(Request, stranded["id"]).status.value == "sealed"
