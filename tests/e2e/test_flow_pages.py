"""The flows pages: designers, managers and admins see each flow, its versions with their
deploy history and instances, and its incidents; managers retire versions; the pages are
theirs alone (a requester gets 403, an anonymous visitor the log-in page)."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from processes.db import unit_of_work
from processes.models import AuditEvent, Role
from processes.people import directory
from tests.conftest import CONTRACT_BPMN, approve, deploy_bytes, submit
from tests.e2e.test_incidents import BAD_CONDITION

PAGES = ["/processes", "/processes/contract_seal", "/processes/business-types"]


def contract_files(marker: str = "") -> dict[str, bytes]:
    """The shipped contract flow; a ``marker`` (an XML comment) makes it a new version."""
    files = {p.name: p.read_bytes() for p in
             [CONTRACT_BPMN, *sorted(CONTRACT_BPMN.parent.glob("*.dmn"))]}
    files[CONTRACT_BPMN.name] += f"<!-- {marker} -->\n".encode() if marker else b""
    return files


def approve_every_task(api_client) -> None:
    for task in api_client.get("/api/v1/tasks").get_json():
        done = api_client.post(f"/api/v1/tasks/{task['id']}/complete",
                               json={"decision": "approve", "comment": "同意"})
        assert done.status_code == 200, done.get_json()


def audit_events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                       .order_by(AuditEvent.seq)).scalars())


def test_each_role_sees_the_versions_with_their_comments_and_requests(org, login, api, pdf):
    v2 = contract_files("v2")
    resp = deploy_bytes(org.designer, v2, comment="提高法务审核阈值 raise the Legal threshold")
    assert resp.status_code == 201 and resp.get_json()["version"] == 2
    running = submit(org.alice, org.seal_id, pdf).get_json()
    assert running["process"] == {"key": "contract_seal", "version": 2}
    api("mia", roles=["manager"]), api("root", roles=["admin"])

    for name in ("dana", "mia", "root"):
        client = login(name)
        listing = client.get("/processes")
        assert listing.status_code == 200
        assert 'href="/processes/contract_seal"' in listing.text and "v2" in listing.text
        page = client.get("/processes/contract_seal")
        assert page.status_code == 200
        assert "raise the Legal threshold" in page.text
        assert 'id="v1"' in page.text and 'id="v2"' in page.text
        bpmn_sha = hashlib.sha256(v2[CONTRACT_BPMN.name]).hexdigest()
        assert bpmn_sha[:16] in page.text  # the files' hashes, per version
        assert 'href="/processes/contract_seal/edit"' in page.text
        # The navigation leads the studio's people here.
        assert 'href="/processes/business-types"' in client.get("/inbox").text
        # Only managers and admins are offered retiring.
        assert ("/versions/2/retire" in page.text) == (name != "dana")

    history = org.designer.get("/api/v1/processes/contract_seal").get_json()
    assert history["current"] == 2
    newest, first = history["versions"]
    assert newest["comment"] == "提高法务审核阈值 raise the Legal threshold"
    assert newest["deployed_by"] == "dana" and first["comment"] is None
    assert newest["running"] == 1 and newest["finished"] == 0 and first["running"] == 0
    assert {f["name"] for f in newest["files"]} == set(v2)


def test_the_pages_are_for_the_studio_roles_only(org, login, app):
    alice = login("alice")
    assert 'href="/processes"' not in alice.get("/inbox").text
    for path in PAGES:
        assert alice.get(path).status_code == 403, path
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302
        assert anonymous.headers["Location"].startswith("/login?next=")
    assert org.alice.get("/api/v1/processes/contract_seal").status_code == 403
    assert alice.post("/processes/contract_seal/versions/1/retire").status_code == 403


def test_a_retired_version_starts_no_requests_while_running_ones_finish(org, api, pdf, app):
    manager = api("mia", roles=["manager"])
    on_v1 = submit(org.alice, org.seal_id, pdf).get_json()
    assert deploy_bytes(org.designer, contract_files("v2")).status_code == 201
    on_v2 = submit(org.alice, org.seal_id, pdf).get_json()
    assert on_v2["process"]["version"] == 2

    assert org.designer.post("/api/v1/processes/contract_seal/versions/2/retire") \
        .status_code == 403
    retired = manager.post("/api/v1/processes/contract_seal/versions/2/retire")
    assert retired.status_code == 200 and retired.get_json()["retired_at"]
    assert manager.post("/api/v1/processes/contract_seal/versions/2/retire").status_code == 409
    # New requests start on the latest version not retired.
    after = submit(org.alice, org.seal_id, pdf).get_json()
    assert after["process"] == {"key": "contract_seal", "version": 1}
    listed = {f["key"]: f for f in org.alice.get("/api/v1/processes").get_json()}
    assert listed["contract_seal"]["version"] == 1 and listed["contract_seal"]["retired"] == [2]

    assert manager.post("/api/v1/processes/contract_seal/versions/1/retire").status_code == 200
    refused = submit(org.alice, org.seal_id, pdf)
    assert refused.status_code == 422
    assert "retired" in refused.get_json()["error"]["message"]

    # The requests already running on the retired versions finish on them.
    for approver in (org.bob, org.carol):
        approve_every_task(approver)
    for req in (on_v1, on_v2, after):
        body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
        assert body["status"] in ("authorized", "sealed"), body
    events = audit_events(app, "process.retired")
    assert [(e.actor, e.details["version"]) for e in events] == [("mia", 2), ("mia", 1)]

    assert manager.post("/api/v1/processes/contract_seal/versions/2/reinstate").status_code == 200
    again = submit(org.alice, org.seal_id, pdf).get_json()
    assert again["process"] == {"key": "contract_seal", "version": 2}


def test_a_manager_retires_a_version_on_the_page(org, login, pdf):
    assert deploy_bytes(org.designer, contract_files("v2")).status_code == 201
    assert login("dana").post("/processes/contract_seal/versions/2/retire").status_code == 403
    mia = _with_role(org, login, "mia", "manager")
    done = mia.post("/processes/contract_seal/versions/2/retire", follow_redirects=True)
    assert done.status_code == 200
    assert "Version 2 is retired" in done.text
    assert re.search(r'id="v2".*?Retired', done.text, re.S)
    assert submit(org.alice, org.seal_id, pdf).get_json()["process"]["version"] == 1


def _with_role(org, login, name: str, role: str):
    """A user with ``role``, logged in through the log-in page."""
    app = org.alice.client.application
    with app.app_context(), unit_of_work(db.session):
        directory.add_user(db.session, name, roles=[Role(role)])
    return login(name)


def test_business_types_are_repointed_by_managers_and_audited(org, api, login, pdf, app):
    manager = api("mia", roles=["manager"])
    quick = BAD_CONDITION.replace(b'id="fragile"', b'id="quick_check" name="Quick check"') \
        .replace(b"${risk_score &gt; 3}", b"${amount &gt; 1}")
    assert deploy_bytes(org.designer, {"quick.bpmn": quick}).status_code == 201

    made = manager.put("/api/v1/business-types/contract", json={"process": "contract_seal",
                                                                 "name": "合同用印"})
    assert made.status_code == 200
    first = submit(org.alice, org.seal_id, pdf, process="", business_type="contract").get_json()
    assert first["process"]["key"] == "contract_seal"

    assert org.designer.put("/api/v1/business-types/contract",
                            json={"process": "quick_check"}).status_code == 403
    unknown = manager.put("/api/v1/business-types/contract", json={"process": "nope"})
    assert unknown.status_code == 422
    moved = manager.put("/api/v1/business-types/contract", json={"process": "quick_check"})
    assert moved.get_json() == {"key": "contract", "name": "合同用印", "process": "quick_check"}
    second = submit(org.alice, org.seal_id, pdf, process="", business_type="contract").get_json()
    assert second["process"]["key"] == "quick_check"
    still = org.alice.get(f"/api/v1/requests/{first['id']}").get_json()
    assert still["process"]["key"] == "contract_seal" and still["status"] == "running"
    mapped = audit_events(app, "business_type.mapped")
    assert [(e.actor, e.details["process"], e.details["previous"]) for e in mapped] == [
        ("mia", "contract_seal", None), ("mia", "quick_check", "contract_seal")]

    # The page: everyone of the studio sees the mapping; managers change it there.
    dana = login("dana")
    page = dana.get("/processes/business-types")
    assert "合同用印" in page.text and "quick_check" in page.text
    assert 'name="process"' not in page.text  # designers do not re-point
    mina = _with_role(org, login, "mina", "manager")
    back = mina.post("/processes/business-types", data={"key": "contract",
                                                        "process": "contract_seal"},
                     follow_redirects=True)
    assert back.status_code == 200 and "now routes to contract_seal" in back.text
    third = submit(org.alice, org.seal_id, pdf, process="", business_type="contract").get_json()
    assert third["process"]["key"] == "contract_seal"
    bad = mina.post("/processes/business-types", data={"key": "contract", "process": "nope"})
    assert bad.status_code == 422 and "nope" in bad.text


@pytest.mark.parametrize("key", ["business-types", "new"])
def test_page_names_are_refused_as_process_keys(org, key):
    flow = BAD_CONDITION.replace(b'id="fragile"', f'id="{key}"'.encode())
    resp = deploy_bytes(org.designer, {"flow.bpmn": flow})
    assert resp.status_code == 422
    assert "reserved" in resp.get_json()["error"]["message"]


def test_an_admin_retries_an_incident_from_the_flow_page(org, login, pdf):
    assert deploy_bytes(org.designer, {"fragile.bpmn": BAD_CONDITION}).status_code == 201
    req = submit(org.alice, org.seal_id, pdf, process="fragile", data={}).get_json()
    approve(org.carol)
    dana = login("dana")
    overview = dana.get("/processes").text
    assert 'href="/processes/fragile#incidents">1</a>' in overview
    page = dana.get("/processes/fragile")
    assert f'href="/requests/{req["id"]}"' in page.text and "risk_score" in page.text
    retry_url = f"/processes/fragile/incidents/{req['id']}/retry"
    assert retry_url not in page.text and dana.post(retry_url).status_code == 403
    root = _with_role(org, login, "root", "admin")
    assert retry_url in root.get("/processes/fragile").text
    assert root.post(f"/processes/contract_seal/incidents/{req['id']}/retry").status_code == 404
    again = root.post(retry_url, follow_redirects=True)
    assert again.status_code == 200 and "stopped again" in again.text  # not fixed yet
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "incident"
    # A built-in is not the admin's to correct; the variable the condition expected is.
    refused = root.post(retry_url, data={"variable": "requester", "value": '"root"'},
                        follow_redirects=True)
    assert "built-in" in refused.text
    fixed = root.post(retry_url, data={"variable": "risk_score", "value": "1"},
                      follow_redirects=True)
    assert fixed.status_code == 200 and "retried" in fixed.text
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"
    retried = audit_events(org.alice.client.application, "request.retried")
    assert [e.details.get("corrected") for e in retried] == [None, {"risk_score": 1}]


def test_a_flow_with_every_version_retired_is_offered_to_no_requester(org, api, login):
    manager = api("mia", roles=["manager"])
    assert manager.put("/api/v1/business-types/contract",
                       json={"process": "contract_seal", "name": "合同用印"}).status_code == 200
    alice = login("alice")
    assert "合同用印" in alice.get("/requests/new").text
    assert manager.post("/api/v1/processes/contract_seal/versions/1/retire").status_code == 200
    page = alice.get("/requests/new")
    assert page.status_code == 200 and "合同用印" not in page.text
    # Deploying the retired version's files again is a no-op that says so.
    again = deploy_bytes(org.designer, contract_files())
    assert again.status_code == 200 and again.get_json()["version"] == 1
    assert any("retired" in w["message"] for w in again.get_json()["warnings"])
