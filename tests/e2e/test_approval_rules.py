"""No seal without someone else's approval: the ways around it an insider would try, each
performed through the API (issue 8, items 1, 3, 4, 10 and 12)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from processes.db import unit_of_work
from processes.flows import definitions
from processes.flows.bpmn import load_flow
from processes.flows.engine import SPECS
from processes.models import ProcessDefinition, Seal, SigningGrant
from tests.conftest import approve, deploy_bytes, make_pdf, only_task, submit

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
DATA = Path(__file__).resolve().parent / "data"
END_AUTHORIZED = """<bpmn:endEvent id="authorized" name="已授权"><bpmn:extensionElements>
  <camunda:properties><camunda:property name="outcome" value="authorized" /></camunda:properties>
  </bpmn:extensionElements></bpmn:endEvent>"""


def flow(key: str, body: str, *, properties: str = "") -> bytes:
    """A one-process BPMN file (Camunda flavour) with ``body`` inside the process."""
    props = (f"<bpmn:extensionElements><camunda:properties>{properties}</camunda:properties>"
             "</bpmn:extensionElements>") if properties else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_{key}"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{key}" name="{key}" isExecutable="true">{props}
    <bpmn:startEvent id="start" />
    {body}
  </bpmn:process>
</bpmn:definitions>""".encode()


STRAIGHT = flow("straight", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="authorized" />
    {END_AUTHORIZED}""")

# A review whose decision nobody looks at: the authorized end comes whatever the reviewer says.
IGNORED_REVIEW = flow("ignored_review", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="Review" camunda:candidateUsers="bob" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="authorized" />
    {END_AUTHORIZED}""")

# Approvers approve, then the requester "finalises" the document, then the end.
REVISED_LAST = flow("revised_last", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="head" />
    <bpmn:userTask id="head" name="Head approves" camunda:candidateUsers="${{requester_heads}}" />
    <bpmn:sequenceFlow id="f2" sourceRef="head" targetRef="finalise" />
    <bpmn:userTask id="finalise" name="Requester finalises" camunda:assignee="${{requester}}" />
    <bpmn:sequenceFlow id="f3" sourceRef="finalise" targetRef="authorized" />
    {END_AUTHORIZED}""")


def plant(app, files: dict[str, bytes]) -> None:
    """Store a flow as a version deployed before the deploy-time check existed would be:
    straight into the database, past every check."""
    parsed = load_flow(files)
    with app.app_context(), unit_of_work(db.session):
        version = (db.session.execute(select(func.max(ProcessDefinition.version)).where(
            ProcessDefinition.key == parsed.key)).scalar() or 0) + 1
        definition = ProcessDefinition(
            key=parsed.key, version=version, name=parsed.name, sha256=parsed.sha256,
            files=parsed.files, authorized_end=parsed.authorized_end, tasks=parsed.tasks,
            start_form=parsed.start_form, seal_action=parsed.seal_action)
        db.session.add(definition)
        db.session.flush()
        # Specs are cached by definition id, and every test's database counts ids from 1.
        SPECS.put(definition.id, (parsed.spec, parsed.subprocess_specs))


def _grants(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(SigningGrant)).scalar()


# -- item 1: a designer seals with no approval at all ----------------------------------------

def test_a_flow_whose_start_leads_straight_to_the_authorized_end_is_refused(org):
    resp = deploy_bytes(org.designer, {"straight.bpmn": STRAIGHT})
    assert resp.status_code == 422, resp.get_json()
    problem = resp.get_json()["error"]["problems"][0]
    assert problem["element"] == "authorized"
    assert "without a task that someone other than the requester works" in problem["message"]
    assert "start → 已授权" in problem["message"]


def test_a_path_that_passes_only_the_requesters_own_task_is_refused(org):
    own_only = flow("own_only", f"""
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
        <bpmn:exclusiveGateway id="gw" default="f_big" />
        <bpmn:sequenceFlow id="f_small" sourceRef="gw" targetRef="self_check">
          <bpmn:conditionExpression>${{amount &lt; 1000}}</bpmn:conditionExpression>
        </bpmn:sequenceFlow>
        <bpmn:sequenceFlow id="f_big" sourceRef="gw" targetRef="head" />
        <bpmn:userTask id="self_check" name="Requester confirms"
            camunda:assignee="${{requester}}" />
        <bpmn:userTask id="head" name="Head" camunda:candidateUsers="${{requester_heads}}" />
        <bpmn:sequenceFlow id="f4" sourceRef="self_check" targetRef="authorized" />
        <bpmn:sequenceFlow id="f5" sourceRef="head" targetRef="authorized" />
        {END_AUTHORIZED}""")
    resp = deploy_bytes(org.designer, {"own_only.bpmn": own_only})
    assert resp.status_code == 422, resp.get_json()
    assert "Requester confirms" in resp.get_json()["error"]["problems"][0]["message"]


def test_a_call_activity_counts_only_when_every_path_through_it_has_an_approval(org):
    caller = flow("caller", f"""
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
        <bpmn:callActivity id="call" name="Shared review" calledElement="sub" />
        <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="authorized" />
        {END_AUTHORIZED}""")

    def called(body: str) -> bytes:
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_sub"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="sub" isExecutable="true"><bpmn:startEvent id="sub_start" />{body}
    <bpmn:endEvent id="sub_end" /></bpmn:process></bpmn:definitions>""".encode()

    approving = called("""
        <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="legal" />
        <bpmn:userTask id="legal" name="Legal" camunda:candidateGroups="legal" />
        <bpmn:sequenceFlow id="s2" sourceRef="legal" targetRef="sub_end" />""")
    skipping = called("""
        <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="sub_gw" />
        <bpmn:exclusiveGateway id="sub_gw" default="s_skip" />
        <bpmn:sequenceFlow id="s_legal" sourceRef="sub_gw" targetRef="legal">
          <bpmn:conditionExpression>${amount &gt; 5}</bpmn:conditionExpression>
        </bpmn:sequenceFlow>
        <bpmn:sequenceFlow id="s_skip" sourceRef="sub_gw" targetRef="sub_end" />
        <bpmn:userTask id="legal" name="Legal" camunda:candidateGroups="legal" />
        <bpmn:sequenceFlow id="s2" sourceRef="legal" targetRef="sub_end" />""")
    refused = deploy_bytes(org.designer, {"caller.bpmn": caller, "sub.bpmn": skipping})
    assert refused.status_code == 422, refused.get_json()
    assert "start → Shared review → 已授权" in refused.get_json()["error"]["message"]
    accepted = deploy_bytes(org.designer, {"caller.bpmn": caller, "sub.bpmn": approving})
    assert accepted.status_code == 201, accepted.get_json()


def test_a_flow_planted_before_the_check_still_seals_nothing_without_an_approval(app, org, pdf):
    """The run-time rule holds on its own: the authorized end writes no grant when nobody but
    the requester approved, and the request fails with the reason."""
    plant(app, {"straight.bpmn": STRAIGHT})
    resp = submit(org.alice, org.seal_id, pdf, process="straight")
    assert resp.status_code == 201, resp.get_json()
    body = org.alice.get(f"/api/v1/requests/{resp.get_json()['id']}").get_json()
    assert body["status"] == "failed"
    assert "no approval by anyone other than the requester" in body["failure"]
    assert body["sealed_document"] is None
    assert _grants(app) == 0
    assert org.alice.get(f"/api/v1/requests/{body['id']}/sealed").status_code == 404


def test_a_task_completed_without_approving_is_no_approval(app, org, pdf):
    resp = deploy_bytes(org.designer, {"ignored_review.bpmn": IGNORED_REVIEW})
    assert resp.status_code == 201, resp.get_json()
    req = submit(org.alice, org.seal_id, pdf, process="ignored_review").get_json()
    task = only_task(org.bob)
    done = org.bob.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "reject"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["request"]["status"] == "failed"
    assert _grants(app) == 0
    # The same flow with an approval seals, and the record names the approver.
    req = submit(org.alice, org.seal_id, pdf, process="ignored_review").get_json()
    approve(org.bob)
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"


def test_flows_that_change_seals_are_deployed_by_seal_admins_and_admins_only(org, api):
    make = (flow("own_seal", f"""
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
        <bpmn:userTask id="review" name="Review" camunda:candidateUsers="bob" />
        <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="authorized" />
        {END_AUTHORIZED}""", properties='<camunda:property name="seal_action" value="make" />'))
    refused = deploy_bytes(org.designer, {"own_seal.bpmn": make})
    assert refused.status_code == 403
    assert "seal administrators" in refused.get_json()["error"]["message"]
    assert deploy_bytes(api("mona", roles=["manager"]), {"own_seal.bpmn": make}).status_code == 403
    # A seal administrator needs no designer role for them; an admin may too.
    assert deploy_bytes(org.seal_admin, {"own_seal.bpmn": make}).status_code == 201
    # But a seal administrator deploys no ordinary flow.
    assert deploy_bytes(org.seal_admin, {"ignored_review.bpmn": IGNORED_REVIEW}
                        ).status_code == 403


def test_a_designers_make_flow_with_no_one_else_involved_makes_no_seal(app, org, make_seal):
    """The designer's own seal, certified by the organisation CA with themselves as custodian:
    planted past the deploy checks, it still fails at its authorized end. (The designer keeps a
    seal already, so may ask for one.)"""
    make_seal(["dana"], name="设计部专用章")
    plant(app, {"own_seal.bpmn": flow("own_seal", f"""
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="authorized" />
        {END_AUTHORIZED}""", properties='<camunda:property name="seal_action" value="make" />')})
    resp = org.designer.post("/api/v1/requests", data={
        "process": "own_seal", "data": json.dumps({
            "seal_name": "私刻章", "new_seal_type": "公章", "custodians": "dana"})},
        content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "failed" and "no approval" in body["failure"]
    assert body["document"] is None
    with app.app_context():
        assert db.session.execute(select(Seal).where(Seal.name == "私刻章")).first() is None


def test_a_lifecycle_request_carries_no_document(org, pdf):
    make = (BPMN / "seal_make" / "seal_make.bpmn").read_bytes()
    assert deploy_bytes(org.seal_admin, {"seal_make.bpmn": make}).status_code == 201
    data = json.dumps({"seal_name": "财务专用章", "new_seal_type": "财务专用章",
                       "custodians": "carol", "reason": "新设财务部"})
    with_pdf = org.carol.post("/api/v1/requests", data={  # carol keeps a seal: may ask for one
        "process": "seal_make", "data": data, "document": (io.BytesIO(pdf), "a.pdf")},
        content_type="multipart/form-data")
    assert with_pdf.status_code == 422
    assert with_pdf.get_json()["error"]["problems"][0]["field"] == "document"
    resp = org.carol.post("/api/v1/requests", data={"process": "seal_make", "data": data},
                          content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["document"] is None and len(body["subject_sha256"]) == 64
    assert org.carol.get(f"/api/v1/requests/{body['id']}/document").status_code == 404


# -- item 3: a document nobody approved gets sealed ------------------------------------------

def test_a_revision_after_the_last_approval_is_never_sealed(app, org, pdf):
    resp = deploy_bytes(org.designer, {"revised_last.bpmn": REVISED_LAST})
    assert resp.status_code == 201, resp.get_json()
    warning = resp.get_json()["warnings"][0]
    assert warning["element"] == "finalise" and "no approver after it" in warning["message"]
    req = submit(org.alice, org.seal_id, pdf, process="revised_last").get_json()
    approve(org.bob)
    task = only_task(org.alice)
    forged = make_pdf(text="Contract 2026-999")
    done = org.alice.post(f"/api/v1/tasks/{task['id']}/complete", data={
        "decision": "approve", "document": (io.BytesIO(forged), "final.pdf")},
        content_type="multipart/form-data")
    assert done.status_code == 200, done.get_json()
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "failed"
    assert "the document as it stands" in body["failure"]
    assert _grants(app) == 0


def test_an_approval_on_a_document_other_than_the_one_shown_is_a_conflict(org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    task = only_task(org.bob)
    stale = org.bob.post(f"/api/v1/tasks/{task['id']}/complete", json={
        "decision": "approve", "document_sha256": "0" * 64})
    assert stale.status_code == 409
    assert "changed after it was shown to you" in stale.get_json()["error"]["message"]
    bad = org.bob.post(f"/api/v1/tasks/{task['id']}/complete", json={
        "decision": "approve", "document_sha256": "abc"})
    assert bad.status_code == 422
    ok = org.bob.post(f"/api/v1/tasks/{task['id']}/complete", json={
        "decision": "approve", "document_sha256": req["document"]["sha256"]})
    assert ok.status_code == 200, ok.get_json()


# -- item 4: a seal's business-type rule is bypassed -----------------------------------------

def test_a_business_type_that_does_not_map_to_the_process_is_refused(app, org, pdf):
    assert deploy_bytes(org.designer, {"ignored_review.bpmn": IGNORED_REVIEW}
                        ).status_code == 201
    with app.app_context(), unit_of_work(db.session):
        from processes.seals import policy
        definitions.add_business_type(db.session, "contract", "contract_seal")
        definitions.add_business_type(db.session, "hr", "ignored_review")
        policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None,
                          business_types=["hr"])
    refused = submit(org.alice, org.seal_id, pdf, process="contract_seal")
    assert refused.status_code == 422
    assert refused.get_json()["error"]["problems"][0]["rule"] == "business_types"
    bypass = submit(org.alice, org.seal_id, pdf, process="contract_seal", business_type="hr")
    assert bypass.status_code == 422, bypass.get_json()
    assert "is handled by flow 'ignored_review'" in bypass.get_json()["error"]["message"]
    # Named alone, the process takes the type mapped to it: the record carries that type.
    with app.app_context(), unit_of_work(db.session):
        from processes.seals import policy
        policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None,
                          business_types=[])
    made = submit(org.alice, org.seal_id, pdf, process="contract_seal").get_json()
    assert made["business_type"] == "contract"


# -- item 10: one person fills a whole countersign -------------------------------------------

GROUP_COUNTERSIGN = flow("group_countersign", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="countersign" />
    <bpmn:userTask id="countersign" name="会签 Countersign" camunda:candidateGroups="legal">
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopCardinality>3</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="countersign" targetRef="gw" />
    <bpmn:exclusiveGateway id="gw" default="f_no" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="authorized">
      <bpmn:conditionExpression>${{decision == 'approve'}}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="rejected" />
    <bpmn:endEvent id="rejected" />
    {END_AUTHORIZED}""")


def test_one_person_cannot_work_two_instances_of_a_countersign(app, org, pdf, api):
    resp = deploy_bytes(org.designer, {"group_countersign.bpmn": GROUP_COUNTERSIGN})
    assert resp.status_code == 201, resp.get_json()
    lee = api("lee", groups=["legal"])
    req = submit(org.alice, org.seal_id, pdf, process="group_countersign").get_json()
    tasks = org.lily.get("/api/v1/tasks").get_json()
    assert len(tasks) == 3
    first = org.lily.post(f"/api/v1/tasks/{tasks[0]['id']}/complete",
                          json={"decision": "approve"})
    assert first.status_code == 200
    # Her other two instances leave her inbox, and working one anyway is refused.
    assert org.lily.get("/api/v1/tasks").get_json() == []
    again = org.lily.post(f"/api/v1/tasks/{tasks[1]['id']}/complete",
                          json={"decision": "approve"})
    assert again.status_code == 403
    assert "distinct people" in again.get_json()["error"]["message"]
    left = lee.get("/api/v1/tasks").get_json()
    assert len(left) == 2
    assert lee.post(f"/api/v1/tasks/{left[0]['id']}/claim").status_code == 200
    # Holding one instance, lee may not claim a second either.
    assert lee.post(f"/api/v1/tasks/{left[1]['id']}/claim").status_code == 403
    assert lee.post(f"/api/v1/tasks/{left[0]['id']}/complete",
                    json={"decision": "approve"}).status_code == 200
    # Legal has two members and the countersign three instances: nobody may work the third.
    # That is an incident an admin sees, not a silent wait.
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "incident", body
    assert "every candidate already worked another instance" in body["failure"]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(SigningGrant)).scalar() == 0


def test_a_countersign_that_names_one_person_twice_is_an_incident(org, pdf):
    mi_all = DATA / "mi_all" / "mi_all.bpmn"
    assert deploy_bytes(org.designer, {"mi_all.bpmn": mi_all.read_bytes()}).status_code == 201
    resp = submit(org.alice, org.seal_id, pdf, process="mi_all",
                  data={"approvers": ["bob", "bob", "bob"]})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "incident"
    assert "names bob for more than one of its instances" in body["failure"]
    assert org.bob.get("/api/v1/tasks").get_json() == []


def test_one_person_meeting_two_demands_counts_once_unless_the_policy_says_so(app, org, pdf):
    """bob heads alice's department and is a custodian too: with demands for both, his one
    approval is not two approvals."""
    both = flow("head_or_custodian", f"""
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="head" />
        <bpmn:userTask id="head" name="Head" camunda:candidateUsers="${{requester_heads}}" />
        <bpmn:sequenceFlow id="f2" sourceRef="head" targetRef="custodian" />
        <bpmn:userTask id="custodian" name="Custodian"
            camunda:candidateUsers="${{seal_custodians}}" />
        <bpmn:sequenceFlow id="f3" sourceRef="custodian" targetRef="authorized" />
        {END_AUTHORIZED}""")
    assert deploy_bytes(org.designer, {"head_or_custodian.bpmn": both}).status_code == 201
    from processes.people import directory
    from processes.seals import policy
    with app.app_context(), unit_of_work(db.session):
        seal = db.session.get(Seal, org.seal_id)
        seal.custodians.append(directory.get_user(db.session, "bob"))
        policy.set_policy(db.session, seal, actor=None,
                          demands=[{"kind": "custodian"}, {"kind": "requester_head"}])

    def run() -> dict:
        req = submit(org.alice, org.seal_id, pdf, process="head_or_custodian").get_json()
        tasks = org.bob.get("/api/v1/tasks").get_json()
        org.bob.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", json={"decision": "approve"})
        tasks = org.bob.get("/api/v1/tasks").get_json()
        org.bob.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", json={"decision": "approve"})
        return org.alice.get(f"/api/v1/requests/{req['id']}").get_json()

    refused = run()
    assert refused["status"] == "failed"
    assert "does not already count for another demanded approval" in refused["failure"]
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None,
                          distinct_demands=False)
    assert run()["status"] == "sealed"


# -- item 12: filing on behalf, then approving -----------------------------------------------

def test_whoever_filed_a_request_may_not_approve_it(app, org, pdf, api, make_seal):
    crm = api("crm", scopes=["act_as"])
    seal_id = make_seal(["carol", "crm"])  # crm also keeps the seal
    req = submit(crm, seal_id, pdf, on_behalf_of="alice").get_json()
    assert req["requester"] == "alice"
    assert crm.get("/api/v1/tasks").get_json() == []
    approve(org.bob)
    task = only_task(org.carol)
    assert crm.get("/api/v1/tasks").get_json() == []
    refused = crm.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert refused.status_code == 403
    assert "filed" in refused.get_json()["error"]["message"]
    approve(org.carol)
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "sealed"
    with app.app_context():
        grant = db.session.execute(select(SigningGrant)).scalar_one()
        assert {a["by"] for a in grant.approvals} == {"bob", "carol"}


def test_the_new_request_page_makes_a_lifecycle_request_without_a_document(org, login):
    void = (BPMN / "seal_void" / "seal_void.bpmn").read_bytes()
    assert deploy_bytes(org.seal_admin, {"seal_void.bpmn": void}).status_code == 201
    carol = login("carol")
    page = carol.get("/requests/new?process=seal_void").text
    assert 'name="document"' not in page and "carries no document" in page
    resp = carol.post("/requests/new?process=seal_void", data={
        "process": "seal_void", "seal": str(org.seal_id), "data.reason": "更换新章",
        "document": (io.BytesIO(b""), "")}, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.text
    detail = carol.get(resp.headers["Location"]).text
    assert "The request's data (no document)" in detail


def test_a_flow_serving_several_business_types_needs_the_type_named(app, org, pdf):
    with app.app_context(), unit_of_work(db.session):
        from processes.seals import policy
        definitions.add_business_type(db.session, "contract", "contract_seal")
        definitions.add_business_type(db.session, "purchase", "contract_seal")
        policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None,
                          business_types=["purchase"])
    unnamed = submit(org.alice, org.seal_id, pdf, process="contract_seal")
    assert unnamed.status_code == 422
    assert "name the request's business type" in unnamed.get_json()["error"]["message"]
    other = submit(org.alice, org.seal_id, pdf, process="contract_seal",
                   business_type="contract")
    assert other.status_code == 422
    named = submit(org.alice, org.seal_id, pdf, process="contract_seal",
                   business_type="purchase")
    assert named.status_code == 201 and named.get_json()["business_type"] == "purchase"
