"""Manual tasks, as Camunda Modeler draws them: one in a lane (or with performers) is offered to
its people like a user task, to confirm the work was done, and never counts as an approval; one
with no one to do it passes through, as in Camunda, and deploying says so."""

from __future__ import annotations

from pathlib import Path

from signer.pdf import open_pdf
from signer.record import approval_records
from tests.conftest import approve, deploy, deploy_bytes, only_task, submit
from tests.e2e.test_approval_rules import END_AUTHORIZED, flow
from tests.e2e.test_policy_demands import _seal_policy

LANES = Path(__file__).parent / "data" / "manual_lane" / "manual_lane.bpmn"


def _deploy_lanes(org) -> None:
    resp = deploy(org.designer, LANES)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["warnings"] == []


def _confirm(api_client, **body):
    task = only_task(api_client)
    return api_client.post(f"/api/v1/tasks/{task['id']}/complete", json=body)


def test_a_manual_task_in_a_lane_is_confirmed_by_the_lane_and_the_request_is_sealed(org, pdf):
    _deploy_lanes(org)
    req = submit(org.alice, org.seal_id, pdf, process="manual_lane").get_json()
    assert only_task(org.bob)["manual"] is False  # an approval: it takes a decision
    assert approve(org.bob).status_code == 200

    # The lane 法务部 names the legal group (by its display name): lily is in it.
    task = only_task(org.lily)
    assert (task["element_id"], task["lane"], task["candidate_groups"], task["manual"]) == (
        "check_original", "法务部", ["legal"], True)
    assert org.carol.get("/api/v1/tasks").get_json() == []
    refused = _confirm(org.lily, decision="approve")
    assert refused.status_code == 422  # a confirmation is not an approval
    assert refused.get_json()["error"]["problems"][0]["field"] == "decision"
    done = _confirm(org.lily, comment="原件已核对 original checked")
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["request"]["status"] == "running"

    assert approve(org.carol).status_code == 200
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "sealed", body
    assert [(h["element"], h["by"], h["decision"]) for h in body["history"]] == [
        ("head_approve", "bob", "approve"), ("check_original", "lily", None),
        ("custodian_approve", "carol", "approve")]
    # The approval record sealed into the PDF lists the approvals, not the confirmation.
    sealed = org.alice.get(f"/api/v1/requests/{req['id']}/sealed")
    record = approval_records(open_pdf(sealed.data))[f"Seal{req['id']}"]
    sealed.close()
    assert [(a["element"], a["by"]) for a in record["approvals"]] == [
        ("head_approve", "bob"), ("custodian_approve", "carol")]


def test_a_manual_confirmation_does_not_count_towards_the_seals_minimum(app, org, pdf):
    """Three people worked the request, but only two approved: a policy of three refuses."""
    _deploy_lanes(org)
    _seal_policy(app, org.seal_id, "--min-approvals", "3")
    req = submit(org.alice, org.seal_id, pdf, process="manual_lane").get_json()
    approve(org.bob)
    assert _confirm(org.lily).status_code == 200
    approve(org.carol)
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "failed", body
    assert "demands 3 approvals by different people; this use has 2" in body["failure"]


def test_a_manual_task_is_no_approval_on_the_path_to_the_authorized_end(app, org):
    only_confirmed = flow("only_confirmed", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="confirm" />
    <bpmn:manualTask id="confirm" name="Confirm" camunda:candidateUsers="lily" />
    <bpmn:sequenceFlow id="f2" sourceRef="confirm" targetRef="authorized" />
    {END_AUTHORIZED}""")
    resp = deploy_bytes(org.designer, {"only_confirmed.bpmn": only_confirmed})
    assert resp.status_code == 422, resp.get_json()
    (problem,) = resp.get_json()["error"]["problems"]
    assert problem["element"] == "authorized"
    assert "start → Confirm → 已授权" in problem["message"]

    # Nor does it meet a seal's demand: legal only confirms in this flow, never approves.
    _deploy_lanes(org)
    output = _seal_policy(app, org.seal_id, "--demand", "group:legal")
    assert "manual_lane v1: REFUSED - a path reaches the authorized end without an approval" \
        in output


PASS_THROUGH = flow("pass_through", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="print" />
    <bpmn:manualTask id="print" name="Print it" />
    <bpmn:sequenceFlow id="f2" sourceRef="print" targetRef="sketch" />
    <bpmn:task id="sketch" name="To be decided" />
    <bpmn:sequenceFlow id="f3" sourceRef="sketch" targetRef="custodian" />
    <bpmn:userTask id="custodian" camunda:candidateUsers="${{seal_custodians}}" />
    <bpmn:sequenceFlow id="f4" sourceRef="custodian" targetRef="authorized" />
    {END_AUTHORIZED}""")


def test_a_manual_task_with_no_one_to_do_it_passes_through_with_a_warning(org, pdf):
    resp = deploy_bytes(org.designer, {"pass_through.bpmn": PASS_THROUGH})
    assert resp.status_code == 201, resp.get_json()
    warned = {w["element"]: w["message"] for w in resp.get_json()["warnings"]}
    assert set(warned) == {"print", "sketch"}
    assert "passes through without anyone confirming it" in warned["print"]
    assert "passes through doing nothing" in warned["sketch"]

    req = submit(org.alice, org.seal_id, pdf, process="pass_through").get_json()
    assert req["status"] == "running"
    assert [t["element_id"] for t in req["tasks"]] == ["custodian"]
    approve(org.carol)
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"


def test_the_task_page_asks_to_confirm_a_manual_task(org, pdf, login):
    from tests.app.test_pages import task_link
    _deploy_lanes(org)
    req = submit(org.alice, org.seal_id, pdf, process="manual_lane").get_json()
    approve(org.bob)
    lily = login("lily")
    link = task_link(lily)
    page = lily.get(link)
    assert "Confirm done" in page.text
    assert 'value="approve"' not in page.text and 'value="reject"' not in page.text
    done = lily.post(link, data={"comment": "原件已核对"})
    assert done.status_code == 302 and done.headers["Location"] == "/inbox"  # no next task
    assert [t["element_id"] for t in org.alice.get(f"/api/v1/requests/{req['id']}")
            .get_json()["tasks"]] == ["custodian_approve"]
