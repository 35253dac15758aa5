"""Saved dry-run scenarios (PUT/GET/DELETE /api/v1/processes/<key>/scenarios): kept with the
route and end they reached, re-run by every validate and deploy, which name each one whose
route or end a change of the flow moved (a deploy goes ahead all the same); a validate writes
nothing."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from processes.models import AuditEvent, Base
from processes.requests.scenarios import differing
from tests.conftest import CONTRACT_BPMN

CONTRACT_DMN = CONTRACT_BPMN.parent / "contract_routing.dmn"
SHIPPED = {"contract_seal.bpmn": CONTRACT_BPMN.read_bytes(),
           "contract_routing.dmn": CONTRACT_DMN.read_bytes()}
LOWERED = {**SHIPPED, "contract_routing.dmn": SHIPPED["contract_routing.dmn"].replace(
    b"1000000", b"500000")}  # contracts over 500,000 (not 1,000,000) go to legal review
URL = "/api/v1/processes/contract_seal/scenarios"


def _save(client, name: str, amount: int, seal: int, files: dict[str, bytes] | None = None,
          **more: Any):
    body = {"requester": "alice", "seal": seal, "data": {"amount": amount, "purpose": "采购合同"},
            **more}
    if files is None:
        return client.put(f"{URL}/{name}", json=body)
    form: dict[str, Any] = {k: json.dumps(v) if isinstance(v, dict) else str(v)
                            for k, v in body.items()}
    form["file"] = [(io.BytesIO(b), n) for n, b in files.items()]
    return client.put(f"{URL}/{name}", data=form, content_type="multipart/form-data")


def _post(client, url: str, files: dict[str, bytes], **form: Any):
    data: dict[str, Any] = dict(form)
    data["file"] = [(io.BytesIO(b), n) for n, b in files.items()]
    return client.post(url, data=data, content_type="multipart/form-data")


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in Base.metadata.sorted_tables}


def test_a_saved_scenario_keeps_its_route_and_end_and_is_listed(app, org):
    resp = _save(org.designer, "大额合同", 2_000_000, org.seal_id)
    assert resp.status_code == 201, resp.get_json()
    saved = resp.get_json()
    assert saved["name"] == "大额合同" and saved["saved_by"] == "dana"
    assert saved["route"].index("dept_head_approve") < saved["route"].index("legal_review") \
        < saved["route"].index("custodian_approve")
    assert saved["end"] == {"element_id": "end_authorized", "authorized": True}
    assert saved["input"]["requester"] == "alice" and saved["input"]["data"]["amount"] == 2_000_000

    # Saved again under its name: replaced, not added; the requester left empty is the saver.
    resp = _save(org.designer, "大额合同", 5000, org.seal_id, requester="")
    assert resp.status_code == 200, resp.get_json()
    listed = org.designer.get(URL).get_json()
    assert [s["name"] for s in listed] == ["大额合同"]
    assert "legal_review" not in listed[0]["route"]
    assert listed[0]["input"]["requester"] == "dana"
    with app.app_context():
        actions = db.session.execute(sa.select(AuditEvent.action).where(
            AuditEvent.action.like("process.scenario%"))).scalars().all()
    assert actions == ["process.scenario_saved", "process.scenario_saved"]

    resp = org.designer.delete(f"{URL}/大额合同")
    assert (resp.status_code, resp.get_json()["deleted"]) == (200, True)
    assert org.designer.get(URL).get_json() == []
    resp = org.designer.delete(f"{URL}/大额合同")  # gone already: said, no event
    assert (resp.status_code, resp.get_json()["deleted"]) == (200, False)
    with app.app_context():
        assert db.session.execute(sa.select(AuditEvent.details).where(
            AuditEvent.action == "process.scenario_deleted")).scalar_one()["name"] == "大额合同"


def test_validate_reruns_the_scenarios_and_names_what_a_lower_threshold_changes(app, org):
    assert _save(org.designer, "medium", 700_000, org.seal_id).status_code == 201
    assert _save(org.designer, "small", 5000, org.seal_id).status_code == 201

    same = _post(org.designer, "/api/v1/processes/validate", SHIPPED).get_json()
    assert [(s["name"], s["changed"], s["elements"]) for s in same["scenarios"]] == [
        ("medium", False, []), ("small", False, [])]

    before = _counts(app)
    started = time.perf_counter()
    resp = _post(org.designer, "/api/v1/processes/validate", LOWERED)
    print(f"validate with 2 scenarios: {(time.perf_counter() - started) * 1000:.1f} ms")
    assert _counts(app) == before  # nothing stored, no audit event
    body = resp.get_json()
    assert resp.status_code == 200 and body["problems"] == [], body
    medium, small = body["scenarios"]
    assert medium["changed"] and not small["changed"]
    assert "legal_review" not in medium["route_before"]
    assert "legal_review" in medium["route_now"]
    assert medium["elements"] == ["legal_review", "gw_legal"]
    assert medium["end_before"] == medium["end_now"] == {"element_id": "end_authorized",
                                                         "authorized": True}


def test_a_deploy_reports_a_changed_scenario_and_deploys_all_the_same(org):
    assert _save(org.designer, "medium", 700_000, org.seal_id).status_code == 201
    resp = _post(org.designer, "/api/v1/processes", LOWERED, comment="法务审核从 50 万起")
    body = resp.get_json()
    assert resp.status_code == 201 and body["version"] == 2, body
    (medium,) = body["scenarios"]
    assert medium["changed"] and medium["elements"] == ["legal_review", "gw_legal"]
    assert any("scenario 'medium'" in w["message"] for w in body["warnings"])
    # The new version is now the scenario's: saved again on it, a validate finds it unchanged.
    assert _save(org.designer, "medium", 700_000, org.seal_id).status_code == 200
    again = _post(org.designer, "/api/v1/processes/validate", LOWERED).get_json()
    assert [s["changed"] for s in again["scenarios"]] == [False]


def test_an_end_that_changes_is_marked_and_a_sample_that_no_longer_fits_is_reported(org):
    resp = _save(org.designer, "rejected", 700_000, org.seal_id,
                 decisions={"dept_head_approve": "reject"})
    assert resp.get_json()["end"] == {"element_id": "end_rejected", "authorized": False}
    # The head's rejection now goes on to legal review (approved there, then authorized).
    shipped = SHIPPED["contract_seal.bpmn"]
    rejected = b'id="flow_dept_rejected" name="\xe9\xa9\xb3\xe5\x9b\x9e" sourceRef="gw_dept" '
    assert shipped.count(rejected + b'targetRef="end_rejected"') == 1
    rerouted = shipped.replace(rejected + b'targetRef="end_rejected"',
                               rejected + b'targetRef="legal_review"')
    body = _post(org.designer, "/api/v1/processes/validate",
                 {**SHIPPED, "contract_seal.bpmn": rerouted}).get_json()
    assert body["problems"] == [], body
    (scenario,) = body["scenarios"]
    assert scenario["changed"]
    assert scenario["end_now"] == {"element_id": "end_authorized", "authorized": True}
    assert {"legal_review", "end_rejected", "end_authorized"} <= set(scenario["elements"])

    # A new required field the sample lacks: the scenario cannot run, and says why.
    required = shipped.replace(b"<camunda:formData>", b'<camunda:formData><camunda:formField '
                               b'id="contract_no" label="x" type="string"><camunda:validation>'
                               b'<camunda:constraint name="required" /></camunda:validation>'
                               b"</camunda:formField>", 1)
    body = _post(org.designer, "/api/v1/processes/validate",
                 {**SHIPPED, "contract_seal.bpmn": required}).get_json()
    (scenario,) = body["scenarios"]
    assert scenario["changed"] and scenario["route_now"] == [] and scenario["end_now"] is None
    assert any("contract_no" in json.dumps(p, ensure_ascii=False)
               for p in scenario["problems"]), scenario


def test_a_validate_reruns_five_scenarios_and_prints_its_time(org):
    for i, amount in enumerate((5000, 300_000, 700_000, 2_000_000, 9_000_000)):
        assert _save(org.designer, f"s{i}", amount, org.seal_id).status_code == 201
    _post(org.designer, "/api/v1/processes/validate", SHIPPED)  # warm
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        body = _post(org.designer, "/api/v1/processes/validate", LOWERED).get_json()
        timings.append((time.perf_counter() - started) * 1000)
        assert len(body["scenarios"]) == 5
    bare = []
    for _ in range(5):
        started = time.perf_counter()
        _post(org.designer, "/api/v1/processes/validate",
              {**LOWERED, "contract_seal.bpmn": LOWERED["contract_seal.bpmn"].replace(
                  b'id="contract_seal"', b'id="contract_seal_copy"', 1)})
        bare.append((time.perf_counter() - started) * 1000)
    print(f"validate of the contract flow with 5 scenarios: median {sorted(timings)[2]:.1f} ms "
          f"(without scenarios: {sorted(bare)[2]:.1f} ms)")
    assert [s["changed"] for s in body["scenarios"]] == [False, False, True, False, False]


def test_scenarios_are_for_designers_with_clear_errors(org, api, client):
    alice = org.alice
    assert alice.get(URL).status_code == 403
    assert _save(alice, "x", 5000, org.seal_id).status_code == 403
    assert alice.delete(f"{URL}/x").status_code == 403
    assert client.get(URL).status_code == 401
    manager = api("mia", roles=["manager"])
    assert _save(manager, "经理的 case-1 (v2)", 5000, org.seal_id).status_code == 201
    assert org.seal_admin.get(URL).status_code == 200  # seal admin

    for bad in ("x" * 81, " lead", "trail ", "a<b", "semi;colon", "-dash"):
        resp = _save(org.designer, bad, 5000, org.seal_id)
        assert resp.status_code == 400, (bad, resp.get_json())
        assert "scenario name" in resp.get_json()["error"]["message"]
    assert org.designer.get("/api/v1/processes/nope/scenarios").status_code == 404
    resp = org.designer.put("/api/v1/processes/nope/scenarios/x", json={"data": {}})
    assert resp.status_code == 404
    assert org.designer.delete("/api/v1/processes/nope/scenarios/none").status_code == 404
    # Files of another flow are not this flow's scenario.
    other = {**SHIPPED, "contract_seal.bpmn": SHIPPED["contract_seal.bpmn"].replace(
        b'id="contract_seal"', b'id="other_flow"', 1)}
    resp = _save(org.designer, "x", 5000, org.seal_id, files=other)
    assert resp.status_code == 400 and "other_flow" in resp.get_json()["error"]["message"]
    # An unsaved new flow's files may carry its first scenario.
    resp = org.designer.put("/api/v1/processes/other_flow/scenarios/first",
                            data={"data": json.dumps({"amount": 5000, "purpose": "采购"}),
                                  "requester": "alice",
                                  "file": [(io.BytesIO(b), n) for n, b in other.items()]},
                            content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    assert [s["name"] for s in org.designer.get(
        "/api/v1/processes/other_flow/scenarios").get_json()] == ["first"]


def test_routes_differ_where_one_has_what_the_other_has_not():
    assert differing(["a", "b", "c"], ["a", "b", "c"]) == []
    assert differing(["a", "b", "d"], ["a", "b", "c", "d"]) == ["c"]
    assert differing(["a", "x", "d"], ["a", "y", "d"]) == ["x", "y"]
    assert differing(["a", "b"], []) == ["a", "b"]


def test_the_command_line_deploy_names_a_changed_scenario(app, org, tmp_path):
    assert _save(org.designer, "medium", 700_000, org.seal_id).status_code == 201
    paths = []
    for name, content in LOWERED.items():
        (tmp_path / name).write_bytes(content)
        paths.append(str(tmp_path / name))
    out = app.test_cli_runner().invoke(args=["process", "deploy", *paths])
    assert out.exit_code == 0, out.output
    assert "version 2 deployed" in out.output
    assert "scenario medium: submit > dept_head_approve" in out.output
    assert "gw_amount > legal_review > gw_legal > custodian_approve" in out.output
