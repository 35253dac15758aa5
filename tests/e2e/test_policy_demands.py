"""What a seal's policy demands of the people who approve, set the way an administrator sets it
(``sealflow seal policy``) and met or missed through the API: ``--min-approvals`` counts people,
not tasks; the path proof sees a boundary timer that leads around a demanded step.

The flows reuse the helpers of test_approval_rules.py (that file holds the two-demands case:
one person meeting two demands counts once unless ``--shared-demands``)."""

from __future__ import annotations

from app.extensions import db
from processes.db import unit_of_work
from processes.models import Seal
from processes.people import directory
from tests.conftest import deploy_bytes, submit
from tests.e2e.test_approval_rules import END_AUTHORIZED, flow

HEAD_THEN_CUSTODIAN = flow("head_then_custodian", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="head" />
    <bpmn:userTask id="head" name="Head" camunda:candidateUsers="${{requester_heads}}" />
    <bpmn:sequenceFlow id="f2" sourceRef="head" targetRef="custodian" />
    <bpmn:userTask id="custodian" name="Custodian"
        camunda:candidateUsers="${{seal_custodians}}" />
    <bpmn:sequenceFlow id="f3" sourceRef="custodian" targetRef="authorized" />
    {END_AUTHORIZED}""")


def _timed_custodian(key: str, timer_target: str) -> bytes:
    """Head, then the custodian; after three days a timer on the custodian's task interrupts
    it and leads to ``timer_target`` (the authorized end, or a rejection)."""
    return flow(key, f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="head" />
    <bpmn:userTask id="head" name="Head" camunda:candidateUsers="${{requester_heads}}" />
    <bpmn:sequenceFlow id="f2" sourceRef="head" targetRef="custodian" />
    <bpmn:userTask id="custodian" name="Custodian"
        camunda:candidateUsers="${{seal_custodians}}" />
    <bpmn:boundaryEvent id="too_slow" name="3 days" attachedToRef="custodian">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P3D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_late" sourceRef="too_slow" targetRef="{timer_target}" />
    <bpmn:sequenceFlow id="f3" sourceRef="custodian" targetRef="authorized" />
    {'<bpmn:endEvent id="timed_out" name="Timed out" />' if timer_target == "timed_out" else ""}
    {END_AUTHORIZED}""")


def _seal_policy(app, seal_id: int, *options: str) -> str:
    """``sealflow seal policy SEAL_ID ...``: its output, which has a verdict for each flow."""
    result = app.test_cli_runner().invoke(args=["seal", "policy", str(seal_id), *options])
    assert result.exit_code == 0, result.output
    return result.output


def _approve_mine(api_client, request_id: int) -> None:
    """Approve the caller's one open task on that request."""
    (task,) = [t for t in api_client.get("/api/v1/tasks").get_json()
               if t["request_id"] == request_id]
    done = api_client.post(f"/api/v1/tasks/{task['id']}/complete",
                           json={"decision": "approve"})
    assert done.status_code == 200, done.get_json()


def test_min_approvals_counts_people_not_the_tasks_they_complete(app, org, pdf):
    """bob heads alice's department and also keeps the seal: he may work both steps, but that
    is one person's approval, which a policy of two approvals does not accept."""
    deployed = deploy_bytes(org.designer, {"head_then_custodian.bpmn": HEAD_THEN_CUSTODIAN})
    assert deployed.status_code == 201, deployed.get_json()
    with app.app_context(), unit_of_work(db.session):
        seal = db.session.get(Seal, org.seal_id)
        seal.custodians.append(directory.get_user(db.session, "bob"))
    _seal_policy(app, org.seal_id, "--min-approvals", "2")

    alone = submit(org.alice, org.seal_id, pdf, process="head_then_custodian").get_json()
    _approve_mine(org.bob, alone["id"])  # as head
    _approve_mine(org.bob, alone["id"])  # as custodian
    body = org.alice.get(f"/api/v1/requests/{alone['id']}").get_json()
    assert body["status"] == "failed", body
    assert "demands 2 approvals by different people; this use has 1" in body["failure"]
    assert body["sealed_document"] is None
    assert [h["by"] for h in body["history"] if h["decision"] == "approve"] == ["bob", "bob"]

    # The same flow with carol at the custodian's step: two people, and the seal is applied.
    pair = submit(org.alice, org.seal_id, pdf, process="head_then_custodian").get_json()
    _approve_mine(org.bob, pair["id"])
    _approve_mine(org.carol, pair["id"])
    body = org.alice.get(f"/api/v1/requests/{pair['id']}").get_json()
    assert body["status"] == "sealed", body


def test_a_timer_that_leads_around_the_custodian_is_refused_for_a_seal_demanding_one(
        app, org, pdf, make_seal, clock):
    from processes.requests import timers

    around = _timed_custodian("timer_around", "authorized")
    rejecting = _timed_custodian("timer_rejects", "timed_out")
    for key, body in (("timer_around", around), ("timer_rejects", rejecting)):
        deployed = deploy_bytes(org.designer, {f"{key}.bpmn": body})
        assert deployed.status_code == 201, deployed.get_json()

    output = _seal_policy(app, org.seal_id, "--demand", "custodian")
    path = "start → Head → Custodian → 3 days → 已授权"  # into the task, out by the timer
    assert (f"timer_around v1: REFUSED - a path reaches the authorized end without an approval "
            f"by a custodian of the seal: {path}") in output
    assert "timer_rejects v1: ok" in output

    refused = submit(org.alice, org.seal_id, pdf, process="timer_around")
    assert refused.status_code == 422, refused.get_json()
    error = refused.get_json()["error"]
    assert error["problems"][0]["rule"] == "demands"
    assert "flow timer_around v1 cannot be used with seal" in error["message"]
    assert path in error["message"]
    accepted = submit(org.alice, org.seal_id, pdf, process="timer_rejects")
    assert accepted.status_code == 201, accepted.get_json()

    # The path is real: with a seal that demands nothing more, the timer seals the document
    # with the head's approval alone.
    plain_seal = make_seal(["carol"], name="测试科技有限公司公章")
    req = submit(org.alice, plain_seal, pdf, process="timer_around").get_json()
    _approve_mine(org.bob, req["id"])
    (waiting,) = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["tasks"]
    assert waiting["element_id"] == "custodian"
    with app.app_context(), unit_of_work(db.session):
        assert timers.fire(db.session, req["id"], now=clock.advance(days=3, minutes=1))
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "sealed", body
    assert [h["by"] for h in body["history"] if h["decision"] == "approve"] == ["bob"]
