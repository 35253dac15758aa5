"""What the modeler page calls: a deployed version's files, Validate (the deploy checks,
nothing stored) and Deploy with a comment (kept in the audit log)."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from processes.models import AuditEvent
from tests.conftest import CONTRACT_BPMN, deploy, deploy_bytes

TABLE = CONTRACT_BPMN.parent / "contract_routing.dmn"


def _validate(client, files: dict[str, bytes]):
    return client.post("/api/v1/processes/validate",
                       data={"file": [(io.BytesIO(b), n) for n, b in files.items()]},
                       content_type="multipart/form-data")


def _contract(xml: bytes | None = None) -> dict[str, bytes]:
    return {"contract_seal.bpmn": xml or CONTRACT_BPMN.read_bytes(),
            "contract_routing.dmn": TABLE.read_bytes()}


def test_a_version_is_read_back_with_its_files(api):
    dana = api("dana", roles=["designer"])
    assert deploy(dana).status_code == 201
    body = dana.get("/api/v1/processes/contract_seal/versions/1").get_json()
    assert body["version"] == 1
    assert sorted(body["files"]) == ["contract_routing.dmn", "contract_seal.bpmn"]
    assert 'id="dept_head_approve"' in body["files"]["contract_seal.bpmn"]
    assert dana.get("/api/v1/processes/contract_seal/versions/2").status_code == 404
    assert api("alice").get("/api/v1/processes/contract_seal/versions/1").status_code == 403


def test_validate_names_the_broken_element_and_stores_nothing(api):
    dana = api("dana", roles=["designer"])
    good = _validate(dana, _contract())
    assert good.status_code == 200
    assert good.get_json()["problems"] == []
    broken = CONTRACT_BPMN.read_bytes().replace(
        b"${contract_route['needs_legal']}", b"${contract_route[ == }", 1)
    bad = _validate(dana, _contract(broken)).get_json()
    assert [p["element"] for p in bad["problems"]] == ["flow_needs_legal"]
    assert dana.get("/api/v1/processes").get_json() == []
    assert _validate(api("alice"), _contract()).status_code == 403


def test_a_path_past_every_approval_is_a_problem_on_validate(api):
    dana = api("dana", roles=["designer"])
    # A second way out of the submit task, straight to the authorized end: no one approves.
    slipping = CONTRACT_BPMN.read_bytes().replace(
        b'<bpmn:sequenceFlow id="flow_submit"',
        b'<bpmn:sequenceFlow id="flow_skip" sourceRef="submit" targetRef="end_authorized" />'
        b'<bpmn:sequenceFlow id="flow_submit"', 1)
    problems = _validate(dana, _contract(slipping)).get_json()["problems"]
    assert [p["element"] for p in problems] == ["end_authorized"]
    assert "without a task that someone other than the requester works" in problems[0]["message"]
    assert problems[0]["path"] == ["submit", "end_authorized"]  # the modeler draws it


def test_deploy_keeps_its_comment_in_the_audit_log(app, api):
    dana = api("dana", roles=["designer"])
    resp = deploy_bytes(dana, _contract(), comment="  法务门槛调整 / legal threshold  ")
    assert resp.status_code == 201
    with app.app_context():
        event = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "process.deployed")).scalar_one()
    assert event.details["comment"] == "法务门槛调整 / legal threshold"
    assert event.details["version"] == 1
    too_long = deploy_bytes(dana, _contract(CONTRACT_BPMN.read_bytes() + b"\n"),
                            comment="x" * 2001)
    assert too_long.status_code == 400
    assert dana.get("/api/v1/processes").get_json()[0]["version"] == 1


def test_the_modeler_page_is_for_those_who_design_flows(api, app, make_user, login):
    dana = api("dana", roles=["designer"])
    assert deploy(dana).status_code == 201
    assert deploy_bytes(dana, _contract(CONTRACT_BPMN.read_bytes() + b"\n")).status_code == 201
    requester = login("alice")
    assert requester.get("/processes/contract_seal/edit").status_code == 403
    assert requester.get("/processes/new/edit").status_code == 403
    make_user("mike", roles=["manager"])
    manager = login("mike")
    latest = manager.get("/processes/contract_seal/edit")
    assert latest.status_code == 200
    assert 'id="studio-version">2<' in latest.text
    assert "dept_head_approve" in latest.text  # the BPMN it opens
    older = manager.get("/processes/contract_seal/edit?version=1")
    assert 'id="studio-version">1<' in older.text
    assert manager.get("/processes/contract_seal/edit?version=9").status_code == 404
    assert manager.get("/processes/nothing/edit").status_code == 404
    new = manager.get("/processes/new/edit")
    assert new.status_code == 200 and "new_flow.bpmn" in new.text
    anonymous = app.test_client().get("/processes/contract_seal/edit")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
