"""Versions and migration over the API and the CLI: instances stay on the version they started
with until an admin migrates them; a migration shows the diff first and refuses an instance
waiting in a task the new version removed."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from processes import audit_verify
from processes.models import AuditEvent
from tests.conftest import CONTRACT_BPMN, approve, deploy_bytes, only_task, submit

CONTRACT = CONTRACT_BPMN.read_text(encoding="utf-8")
TABLE = (CONTRACT_BPMN.parent / "contract_routing.dmn").read_text(encoding="utf-8")


def _edit(xml: str, pattern: str, replacement: str = "") -> str:
    edited, count = re.subn(pattern, replacement, xml, flags=re.S)
    assert count, pattern
    return edited


def with_finance_review(xml: str = CONTRACT) -> bytes:
    """v1 plus a finance review (group ``finance``) between the dept head and the routing."""
    xml = _edit(xml, r'(id="flow_dept_approved" name="同意" sourceRef="gw_dept") '
                     r'targetRef="route_contract"', r'\1 targetRef="finance_review"')
    xml = _edit(xml, r'(\s*<bpmn:userTask id="legal_review")',
                '\n    <bpmn:userTask id="finance_review" name="财务审核" '
                'camunda:candidateGroups="finance" />'
                '\n    <bpmn:sequenceFlow id="flow_finance_done" sourceRef="finance_review" '
                'targetRef="route_contract" />' r'\1')
    return xml.encode()


def without_dept_head(xml: str = CONTRACT) -> bytes:
    """v1 without the department head's approval: submit goes straight to the routing."""
    xml = _edit(xml, r'\s*<bpmn:flowNodeRef>(dept_head_approve|gw_dept)</bpmn:flowNodeRef>')
    xml = _edit(xml, r'\s*<bpmn:userTask id="dept_head_approve".*?</bpmn:userTask>')
    xml = _edit(xml, r'\s*<bpmn:exclusiveGateway id="gw_dept".*?</bpmn:exclusiveGateway>')
    xml = _edit(xml, r'\s*<bpmn:sequenceFlow id="flow_dept_(head_done|rejected)"[^>]*/>')
    xml = _edit(xml, r'\s*<bpmn:sequenceFlow id="flow_dept_approved".*?</bpmn:sequenceFlow>')
    xml = _edit(xml, r'\s*<bpmn:incoming>flow_dept_(approved|rejected)</bpmn:incoming>')
    xml = _edit(xml, r'\s*<bpmndi:BPMNDiagram.*?</bpmndi:BPMNDiagram>')
    xml = _edit(xml, r'(id="flow_submit" sourceRef="submit") targetRef="dept_head_approve"',
                r'\1 targetRef="route_contract"')
    # The return path from the head's gateway goes with it; a resubmission starts at the routing.
    xml = _edit(xml, r'\s*<bpmn:sequenceFlow id="flow_gw_dept_return".*?</bpmn:sequenceFlow>')
    xml = _edit(xml, r'\s*<bpmn:incoming>flow_gw_dept_return</bpmn:incoming>')
    xml = _edit(xml, r'(id="flow_resubmit" name="重新提交" sourceRef="revise") '
                     r'targetRef="dept_head_approve"', r'\1 targetRef="route_contract"')
    return xml.encode()


def with_legal_threshold(amount: int, table: str = TABLE) -> bytes:
    """The decision table with another threshold for the contract seal (合同专用章)."""
    table = _edit(table, r"&gt; 1000000", f"&gt; {amount}")
    return _edit(table, r"&lt;= 1000000", f"&lt;= {amount}").encode()


def deploy_version(org, xml: bytes, expected: int, table: bytes = TABLE.encode()) -> None:
    resp = deploy_bytes(org.designer, {"contract_seal.bpmn": xml,
                                       "contract_routing.dmn": table})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["version"] == expected


def migrate(client, frm: int, to: int, dry_run: bool = False, key: str = "contract_seal"):
    return client.post(f"/api/v1/processes/{key}/migrate",
                       json={"from": frm, "to": to, "dry_run": dry_run})


def version_of(client, request_id: int) -> int:
    return client.get(f"/api/v1/requests/{request_id}").get_json()["process"]["version"]


def decide(client, request_id: int, decision: str = "approve"):
    """Complete the caller's open task on one request."""
    task = next(t for t in client.get("/api/v1/tasks").get_json()
                if t["request_id"] == request_id)
    resp = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": decision})
    assert resp.status_code == 200, resp.get_json()


def open_elements(client, request_id: int) -> list[str]:
    return [t["element_id"] for t in
            client.get(f"/api/v1/requests/{request_id}").get_json()["tasks"]]


def test_instances_stay_on_their_version_after_a_new_deploy(org, pdf, api):
    fay = api("fay", groups=["finance"])
    old = submit(org.alice, org.seal_id, pdf).get_json()
    deploy_version(org, with_finance_review(), 2)
    new = submit(org.alice, org.seal_id, pdf).get_json()
    assert (old["process"]["version"], new["process"]["version"]) == (1, 2)
    # Bob approves both: the old request follows version 1 (no finance review).
    for task in org.bob.get("/api/v1/tasks").get_json():
        resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
        assert resp.status_code == 200
    assert open_elements(org.alice, old["id"]) == ["custodian_approve"]
    assert open_elements(org.alice, new["id"]) == ["finance_review"]
    assert only_task(fay)["request_id"] == new["id"]
    assert version_of(org.alice, old["id"]) == 1


def test_a_dry_run_shows_the_diff_and_changes_nothing(app, org, pdf, api):
    root = api("root", roles=["admin"])
    req = submit(org.alice, org.seal_id, pdf).get_json()
    task_before = only_task(org.bob)
    deploy_version(org, with_finance_review(), 2)
    resp = migrate(root, 1, 2, dry_run=True)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body == {
        "key": "contract_seal", "from": 1, "to": 2, "dry_run": True,
        "diff": {"added": ["finance_review"], "removed": [],
                 "changed": {"gw_dept": ["outgoing", "conditions"],
                             "route_contract": ["incoming"]}},
        "moved": [req["id"]], "refused": []}
    assert version_of(org.alice, req["id"]) == 1
    assert only_task(org.bob) == task_before
    with app.app_context():
        actions = db.session.execute(select(AuditEvent.action)).scalars().all()
    assert "process.migrated" not in actions and "request.migrated" not in actions


def test_a_migrated_instance_keeps_its_task_and_follows_the_new_routing(app, org, pdf, api):
    root = api("root", roles=["admin"])
    fay = api("fay", groups=["finance"])
    waiting = submit(org.alice, org.seal_id, pdf).get_json()
    task = only_task(org.bob)
    approved = submit(org.alice, org.seal_id, pdf).get_json()
    decide(org.bob, approved["id"])
    rejected = submit(org.alice, org.seal_id, pdf).get_json()
    decide(org.bob, rejected["id"], "reject")
    deploy_version(org, with_finance_review(), 2)

    body = migrate(root, 1, 2).get_json()
    # Final requests are neither moved nor refused.
    assert (body["moved"], body["refused"]) == ([waiting["id"], approved["id"]], [])
    assert org.alice.get(f"/api/v1/requests/{rejected['id']}").get_json()["process"] == {
        "key": "contract_seal", "version": 1}
    assert [version_of(org.alice, r["id"]) for r in (waiting, approved)] == [2, 2]
    # The waiting task is the same task (same id, same inbox row).
    assert only_task(org.bob)["id"] == task["id"]
    assert open_elements(org.alice, approved["id"]) == ["custodian_approve"]
    # After the department head approves, version 2's finance review comes next.
    assert approve(org.bob).status_code == 200
    assert open_elements(org.alice, waiting["id"]) == ["finance_review"]
    assert approve(fay).status_code == 200
    decide(org.carol, waiting["id"])
    done = org.alice.get(f"/api/v1/requests/{waiting['id']}").get_json()
    assert done["status"] == "sealed", done
    assert [h["element"] for h in done["history"]] == [
        "dept_head_approve", "finance_review", "custodian_approve"]
    with app.app_context():
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.action.in_(["request.migrated", "process.migrated"]))
            .order_by(AuditEvent.seq)).scalars().all()
        assert [(e.action, e.request_id, e.actor) for e in events] == [
            ("request.migrated", waiting["id"], "root"),
            ("request.migrated", approved["id"], "root"),
            ("process.migrated", None, "root")]
        assert events[-1].details["moved"] == [waiting["id"], approved["id"]]
        assert audit_verify.verify(db.session)["ok"] is True


def test_an_instance_waiting_in_a_removed_task_is_refused_and_keeps_working(org, pdf, api):
    root = api("root", roles=["admin"])
    req = submit(org.alice, org.seal_id, pdf).get_json()
    past = submit(org.alice, org.seal_id, pdf).get_json()
    decide(org.bob, past["id"])
    deploy_version(org, with_finance_review(), 2)
    deploy_version(org, without_dept_head(), 3)
    body = migrate(root, 1, 3).get_json()
    assert body["diff"] == {
        "added": [], "removed": ["dept_head_approve", "gw_dept"],
        "changed": {"end_rejected": ["incoming"], "revise": ["incoming", "outgoing"],
                    "route_contract": ["incoming"], "submit": ["outgoing"]}}
    assert body["moved"] == []
    assert body["refused"] == [
        {"request": req["id"], "element": "dept_head_approve",
         "reason": "waiting in 'dept_head_approve', which version 3 removed"},
        # Its completed dept-head task could not be restored onto version 3.
        {"request": past["id"], "element": "dept_head_approve",
         "reason": "already passed 'dept_head_approve', which version 3 removed: its history "
                   "cannot move to the new version"}]
    assert [version_of(org.alice, r["id"]) for r in (req, past)] == [1, 1]
    decide(org.bob, req["id"])
    decide(org.carol, req["id"])
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"


def test_a_changed_threshold_applies_to_migrated_instances(org, pdf, api):
    root = api("root", roles=["admin"])
    big = {"amount": 1_500_000, "purpose": "框架协议"}
    moved = submit(org.alice, org.seal_id, pdf, data=big).get_json()
    deploy_version(org, CONTRACT.encode(), 2, table=with_legal_threshold(2_000_000))
    body = migrate(root, 1, 2).get_json()
    assert body["diff"] == {"added": [], "removed": [], "changed": {"route_contract": ["table"]}}
    assert body["moved"] == [moved["id"]]
    assert approve(org.bob).status_code == 200
    # Over 1,000,000 but not over 2,000,000: version 2 skips Legal.
    assert open_elements(org.alice, moved["id"]) == ["custodian_approve"]
    assert org.lily.get("/api/v1/tasks").get_json() == []


def test_only_admins_migrate_and_bad_input_is_answered_4xx(org, api):
    root = api("root", roles=["admin"])
    deploy_version(org, with_finance_review(), 2)
    for who in (org.alice, org.designer, api("mona", roles=["manager"])):
        resp = migrate(who, 1, 2)
        assert resp.status_code == 403
        assert resp.get_json()["error"]["code"] == "forbidden"
    for body in ({"from": 1}, {"from": "1", "to": 2}, {"from": True, "to": 2},
                 {"from": 1, "to": 2, "dry_run": "yes"}, [1, 2]):
        resp = root.post("/api/v1/processes/contract_seal/migrate", json=body)
        assert resp.status_code == 400, body
    assert root.post("/api/v1/processes/contract_seal/migrate", data=b"{not json",
                     content_type="application/json").status_code == 400
    assert migrate(root, 2, 2).status_code == 400
    assert migrate(root, 1, 0).status_code == 400
    assert migrate(root, 1, 7).status_code == 404
    assert migrate(root, 1, 2, key="no_such_flow").status_code == 404


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["process", "migrate", *args])


def test_the_cli_prints_the_diff_and_migrates(app, org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    deploy_version(org, with_finance_review(), 2)
    deploy_version(org, without_dept_head(), 3)
    dry = _cli(app, "contract_seal", "--from", "1", "--to", "2", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "contract_seal: version 1 -> 2 (dry run: nothing changed)",
        "  added:   finance_review",
        "  removed: -",
        "  changed: gw_dept (outgoing, conditions); route_contract (incoming)",
        f"request {req['id']}: would move",
        "1 would move, 0 refused"]
    assert version_of(org.alice, req["id"]) == 1
    refused = _cli(app, "contract_seal", "--from", "1", "--to", "3")
    assert refused.exit_code == 0, refused.output
    assert (f"request {req['id']}: refused: waiting in 'dept_head_approve', which version 3 "
            "removed") in refused.output
    assert "0 moved, 1 refused" in refused.output
    out = _cli(app, "contract_seal", "--from", "1", "--to", "2")
    assert out.exit_code == 0, out.output
    assert f"request {req['id']}: moved" in out.output
    assert version_of(org.alice, req["id"]) == 2
    unknown = _cli(app, "nope", "--from", "1", "--to", "2")
    assert unknown.exit_code == 1 and "no process with key 'nope'" in unknown.output
    same = _cli(app, "contract_seal", "--from", "2", "--to", "2")
    assert same.exit_code == 1 and "nothing to migrate" in same.output
