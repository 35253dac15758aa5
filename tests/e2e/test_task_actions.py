"""The task actions besides deciding, through the API (processes/requests/task_actions.py):
return for revision along a path drawn in the flow, delegate (转办), add an approver before or
after (加签), copy people on the request (抄送); each audited, each under the rules of
separation of duties that hold for working the task."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from processes.models import AuditEvent, SigningGrant
from tests.conftest import approve, deploy_bytes, make_pdf, only_task, submit
from tests.e2e.test_approval_rules import END_AUTHORIZED, flow


def _audit(app, action: str) -> list[dict]:
    with app.app_context():
        return [e.details | {"actor": e.actor} for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action)).scalars()]


def _post(client, task_id: str, action: str, **body):
    return client.post(f"/api/v1/tasks/{task_id}/{action}", json=body)


def test_the_contract_flow_returns_to_the_requester_who_revises_and_resubmits(org, app, pdf,
                                                                             trust_roots):
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    head = only_task(org.bob)
    assert head["return_targets"] == [{"id": "revise", "name": "申请人修改后重新提交"}]
    assert org.bob.get(f"/api/v1/tasks/{head['id']}").get_json()["return_targets"] == \
        head["return_targets"]
    assert approve(org.bob).status_code == 200
    custodian = only_task(org.carol)
    assert custodian["return_targets"][0]["id"] == "revise"
    no_reason = _post(org.carol, custodian["id"], "return")
    assert no_reason.status_code == 422
    assert no_reason.get_json()["error"]["problems"][0]["field"] == "reason"
    wrong = _post(org.carol, custodian["id"], "return", to="dept_head_approve", reason="x")
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["problems"][0]["options"] == ["revise"]
    returned = _post(org.carol, custodian["id"], "return", reason="第3条金额有误")
    assert returned.status_code == 200, returned.get_json()
    revise = only_task(org.alice)
    assert revise["element_id"] == "revise" and revise["assignee"] == "alice"
    assert revise["return_targets"] == []  # the requester's own task sends nothing back
    assert _post(org.alice, revise["id"], "return", reason="x").status_code == 409
    revised = make_pdf(text="Contract 2026-001 (revised: clause 3 amount)")
    resp = org.alice.post(f"/api/v1/tasks/{revise['id']}/complete", data={
        "decision": "approve", "data": '{"change_note": "改了第3条"}',
        "document": (io.BytesIO(revised), "contract-v2.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    # The approvals start again, from the department head.
    assert only_task(org.bob)["element_id"] == "dept_head_approve"
    assert approve(org.bob).status_code == 200
    assert approve(org.carol).status_code == 200
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert body["status"] == "sealed", body
    assert [(a["kind"], a["by"], a["target"], a["reason"]) for a in body["actions"]] == [
        ("return", "carol", "revise", "第3条金额有误")]
    assert [(e["actor"], e["to"], e["reason"]) for e in _audit(app, "task.returned")] == [
        ("carol", "revise", "第3条金额有误")]
    with app.app_context():
        grant = db.session.execute(select(SigningGrant)).scalar_one()
        # Only the approvals of the revised document count.
        assert [(a["element"], a["by"]) for a in grant.approvals] == [
            ("dept_head_approve", "bob"), ("custodian_approve", "carol")]


TWO_WAYS_BACK = flow("two_ways_back", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="draft" />
    <bpmn:userTask id="draft" name="Requester drafts" camunda:assignee="${{requester}}" />
    <bpmn:sequenceFlow id="f2" sourceRef="draft" targetRef="head" />
    <bpmn:userTask id="head" name="Head" camunda:candidateUsers="${{requester_heads}}" />
    <bpmn:sequenceFlow id="f3" sourceRef="head" targetRef="custodian" />
    <bpmn:userTask id="custodian" name="Custodian" camunda:candidateUsers="${{seal_custodians}}" />
    <bpmn:sequenceFlow id="f4" sourceRef="custodian" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f_ok" />
    <bpmn:sequenceFlow id="f_ok" sourceRef="gw" targetRef="authorized" />
    <bpmn:sequenceFlow id="f_to_draft" sourceRef="gw" targetRef="draft">
      <bpmn:conditionExpression>${{decision == 'return' and return_to == 'draft'}}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_to_head" sourceRef="gw" targetRef="head">
      <bpmn:conditionExpression>${{decision == 'return' and return_to == 'head'}}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    {END_AUTHORIZED}""")


def test_with_several_targets_to_chooses_and_the_flow_routes_on_return_to(org, pdf):
    assert deploy_bytes(org.designer, {"two_ways_back.bpmn": TWO_WAYS_BACK}).status_code == 201
    submit(org.alice, org.seal_id, pdf, process="two_ways_back", data={})
    assert approve(org.alice).status_code == 200
    head = only_task(org.bob)
    assert head["return_targets"] == []
    assert _post(org.bob, head["id"], "return", reason="x").status_code == 409
    assert approve(org.bob).status_code == 200
    task = only_task(org.carol)
    assert [t["id"] for t in task["return_targets"]] == ["draft", "head"]
    unchosen = _post(org.carol, task["id"], "return", reason="补充材料")
    assert unchosen.status_code == 422
    assert unchosen.get_json()["error"]["problems"][0]["options"] == ["draft", "head"]
    assert _post(org.carol, task["id"], "return", to="head", reason="请再看").status_code == 200
    assert only_task(org.bob)["element_id"] == "head"
    assert approve(org.bob).status_code == 200
    task = only_task(org.carol)
    assert _post(org.carol, task["id"], "return", to="draft", reason="补充").status_code == 200
    assert only_task(org.alice)["element_id"] == "draft"


def test_delegate_hands_the_task_to_another_person_held_to_the_same_rules(org, app, pdf, api):
    dave = api("dave")
    frank = api("frank")
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    head = only_task(org.bob)
    assert _post(org.bob, head["id"], "delegate", to="dave").status_code == 422  # no reason
    requester = _post(org.bob, head["id"], "delegate", to="alice", reason="x")
    assert requester.status_code == 422
    assert "requester" in requester.get_json()["error"]["message"]
    assert _post(org.bob, head["id"], "delegate", to="nobody", reason="x").status_code == 422
    # Only someone who may work the task now delegates it.
    assert _post(frank, head["id"], "delegate", to="dave", reason="x").status_code == 404
    assert _post(org.alice, head["id"], "delegate", to="dave", reason="x").status_code == 403
    done = _post(org.bob, head["id"], "delegate", to="dave", reason="出差，转王工")
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["assignee"] == "dave"
    assert org.bob.get("/api/v1/tasks").get_json() == []
    assert only_task(dave)["id"] == head["id"]
    refused = org.bob.post(f"/api/v1/tasks/{head['id']}/complete", json={"decision": "approve"})
    assert refused.status_code == 403
    assert approve(dave).status_code == 200
    assert only_task(org.carol)["element_id"] == "custodian_approve"
    notices = dave.get("/api/v1/notices").get_json()["notices"]
    assert any(n["kind"] == "task.delegated" for n in notices), notices
    assert [(e["actor"], e["to"], e["reason"]) for e in _audit(app, "task.delegated")] == [
        ("bob", "dave", "出差，转王工")]
    actions = org.alice.get(f"/api/v1/requests/{rid}").get_json()["actions"]
    assert [(a["kind"], a["by"], a["user"], a["reason"]) for a in actions] == [
        ("delegate", "bob", "dave", "出差，转王工")]


def test_an_approver_added_before_must_decide_before_the_task_can_be_completed(org, app, pdf,
                                                                               api):
    erin = api("erin")
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    head = only_task(org.bob)
    assert _post(org.bob, head["id"], "add-approver", user="alice", position="before",
                 reason="x").status_code == 422  # never the requester
    assert _post(org.bob, head["id"], "add-approver", user="erin", position="beside",
                 reason="x").status_code == 422
    added = _post(org.bob, head["id"], "add-approver", user="erin", position="before",
                  reason="请技术把关")
    assert added.status_code == 200, added.get_json()
    # Bob's task waits: it leaves his inbox, and cannot be completed yet.
    assert org.bob.get("/api/v1/tasks").get_json() == []
    early = org.bob.post(f"/api/v1/tasks/{head['id']}/complete", json={"decision": "approve"})
    assert early.status_code == 409
    assert "erin" in early.get_json()["error"]["message"]
    mine = only_task(erin)
    assert mine["added"] == {"to": head["id"], "position": "before"}
    assert mine["return_targets"] == []
    assert approve(erin, "技术上可行").status_code == 200
    assert only_task(org.bob)["id"] == head["id"]
    assert approve(org.bob).status_code == 200
    assert approve(org.carol).status_code == 200
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert body["status"] == "sealed", body
    assert [(h["by"], h["decision"]) for h in body["history"]] == [
        ("erin", "approve"), ("bob", "approve"), ("carol", "approve")]
    assert [(e["actor"], e["user"], e["position"]) for e in _audit(app, "task.approver_added")] \
        == [("bob", "erin", "before")]


@pytest.mark.parametrize("decision,status", [("approve", "sealed"), ("reject", "rejected")])
def test_an_approver_added_after_decides_before_the_flow_moves_on(org, pdf, api, decision,
                                                                  status):
    erin = api("erin")
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    head = only_task(org.bob)
    assert _post(org.bob, head["id"], "add-approver", user="erin", position="after",
                 reason="金额较大").status_code == 200
    assert erin.get("/api/v1/tasks").get_json() == []  # not yet: after bob
    assert approve(org.bob).status_code == 200
    # The flow has not moved on: the custodian has nothing yet; erin decides first.
    assert org.carol.get("/api/v1/tasks").get_json() == []
    assert org.bob.get("/api/v1/tasks").get_json() == []
    mine = only_task(erin)
    assert mine["added"]["position"] == "after"
    done = erin.post(f"/api/v1/tasks/{mine['id']}/complete", json={"decision": decision,
                                                                  "comment": "看过"})
    assert done.status_code == 200, done.get_json()
    if decision == "approve":
        assert approve(org.carol).status_code == 200
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert body["status"] == status
    # Each decision as its person gave it: the flow took erin's rejection, bob approved.
    assert [(h["by"], h["decision"]) for h in body["history"]][:2] == [
        ("erin", decision), ("bob", "approve")]


def test_a_held_task_keeps_its_form_data_until_the_approver_after_it_decides(org, app, pdf,
                                                                             api):
    erin = api("erin")
    rid = submit(org.alice, org.seal_id, pdf,
                 data={"amount": 2_500_000, "purpose": "框架协议"}).get_json()["id"]
    assert approve(org.bob).status_code == 200
    legal = only_task(org.lily)
    assert _post(org.lily, legal["id"], "add-approver", user="erin", position="after",
                 reason="金额大，请风控复核").status_code == 200
    assert approve(org.lily, legal_opinion="条款无误").status_code == 200
    assert approve(erin).status_code == 200
    assert approve(org.carol).status_code == 200
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "sealed"
    from processes.flows import engine
    from processes.models import Request
    with app.app_context():
        req = db.session.get(Request, rid)
        assert engine.load(req.process, req.state).data["legal_opinion"] == "条款无误"


def test_an_added_approver_or_a_delegate_meets_no_demand_for_a_role_they_lack(org, app, pdf,
                                                                             api):
    from tests.e2e.test_policy_demands import _seal_policy
    dave = api("dave")
    _seal_policy(app, org.seal_id, "--demand", "custodian")
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    head = only_task(org.bob)
    assert _post(org.bob, head["id"], "add-approver", user="dave", position="after",
                 reason="x").status_code == 200
    assert approve(org.bob).status_code == 200
    assert approve(dave).status_code == 200
    custodian = only_task(org.carol)
    assert _post(org.carol, custodian["id"], "delegate", to="dave",
                 reason="代我审批").status_code == 200
    assert approve(dave).status_code == 200
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    # Dave approved twice, as the added approver and as the custodian's delegate: no custodian.
    assert body["status"] == "failed", body
    assert "custodian" in body["failure"]


def test_copy_to_lets_people_see_the_request_read_only(org, app, pdf, api):
    frank = api("frank")
    api("gina")
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    head = only_task(org.bob)
    assert frank.get(f"/api/v1/requests/{rid}").status_code == 404
    assert _post(org.bob, head["id"], "cc", users=[]).status_code == 422
    assert _post(org.bob, head["id"], "cc", users=["nobody"]).status_code == 422
    assert _post(frank, head["id"], "cc", users=["gina"]).status_code == 404
    done = _post(org.bob, head["id"], "cc", users=["frank", "gina", "frank"], note="供参考")
    assert done.status_code == 200, done.get_json()
    assert done.get_json() == {"copied": ["frank", "gina"]}
    assert frank.get(f"/api/v1/requests/{rid}").status_code == 200
    assert frank.get(f"/api/v1/tasks/{head['id']}").status_code == 200
    # Read-only: no task to work, and none may be completed; the task is in the cc tab (抄送我的).
    assert frank.get("/api/v1/tasks").get_json() == []
    assert [t["id"] for t in frank.get("/api/v1/tasks?tab=cc").get_json()] == [head["id"]]
    assert frank.get("/api/v1/tasks/counts").get_json()["cc"] == 1
    assert org.bob.get("/api/v1/tasks?tab=cc").get_json() == []
    refused = frank.post(f"/api/v1/tasks/{head['id']}/complete", json={"decision": "approve"})
    assert refused.status_code == 403
    assert _post(frank, head["id"], "cc", users=["gina"]).status_code == 403
    notices = frank.get("/api/v1/notices").get_json()["notices"]
    assert [n["kind"] for n in notices] == ["request.copied"]
    assert "供参考" in notices[0]["message"]
    assert [(e["actor"], e["users"], e["note"]) for e in _audit(app, "task.copied")] == [
        ("bob", ["frank", "gina"], "供参考")]
    # Copied again: told once.
    assert _post(org.bob, head["id"], "cc", users=["frank"]).get_json() == {"copied": []}


def test_a_countersign_instance_is_never_delegated_to_a_holder_of_another(org, pdf, api):
    from tests.e2e.test_approval_rules import DATA
    mi_all = DATA / "mi_all" / "mi_all.bpmn"
    assert deploy_bytes(org.designer, {"mi_all.bpmn": mi_all.read_bytes()}).status_code == 201
    api("dave")
    submit(org.alice, org.seal_id, pdf, process="mi_all", data={"approvers": ["bob", "carol"]})
    mine = only_task(org.bob)
    # carol holds the other instance: the countersign needs distinct people.
    refused = _post(org.bob, mine["id"], "delegate", to="carol", reason="x")
    assert refused.status_code == 422
    assert "another instance" in refused.get_json()["error"]["message"]
    refused = _post(org.bob, mine["id"], "add-approver", user="carol", position="before",
                    reason="x")
    assert refused.status_code == 422
    assert _post(org.bob, mine["id"], "delegate", to="dave", reason="x").status_code == 200


def test_a_plain_return_among_several_targets_asks_which(org, pdf):
    assert deploy_bytes(org.designer, {"two_ways_back.bpmn": TWO_WAYS_BACK}).status_code == 201
    rid = submit(org.alice, org.seal_id, pdf, process="two_ways_back", data={}).get_json()["id"]
    assert approve(org.alice).status_code == 200
    assert approve(org.bob).status_code == 200
    task = only_task(org.carol)
    plain = org.carol.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "return"})
    assert plain.status_code == 422  # not an incident on an unset return_to
    assert plain.get_json()["error"]["problems"][0]["options"] == ["draft", "head"]
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "running"
