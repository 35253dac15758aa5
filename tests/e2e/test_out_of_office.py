"""Out-of-office through the API: a user away names a deputy; the tasks created for them in the
range go to the deputy, recorded on the task and in the audit log, never to the request's
requester, one hop only; a deputy's approval never meets a demand for a role they do not hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from processes.db import unit_of_work
from processes.models import AuditEvent, User
from tests.conftest import approve, deploy_bytes, only_task, submit
from tests.e2e.test_approval_rules import END_AUTHORIZED, flow

TODAY = datetime.now(UTC).date()
AWAY = {"from": (TODAY - timedelta(days=1)).isoformat(),
        "to": (TODAY + timedelta(days=7)).isoformat()}


def _away(api_client, deputy: str, **range_: str):
    resp = api_client.put("/api/v1/me/out-of-office", json={**AWAY, **range_, "deputy": deputy})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def _events(app, action: str) -> list[dict]:
    with app.app_context(), unit_of_work(db.session, write=False):
        return [e.details for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action)).scalars()]


def test_set_read_and_clear_an_absence(org, api):
    api("dave")
    body = _away(org.bob, "dave")
    assert body["out_of_office"]["deputy"] == "dave"
    assert body["out_of_office"]["active"] is True
    me = org.bob.get("/api/v1/me").get_json()
    assert me["out_of_office"]["deputy"] == "dave"
    assert me["out_of_office"]["from"].startswith(AWAY["from"][:4])
    cleared = org.bob.put("/api/v1/me/out-of-office", json=None)
    assert cleared.status_code == 200, cleared.get_json()
    assert org.bob.get("/api/v1/me").get_json()["out_of_office"] is None


def test_bad_absences_are_refused_with_the_reason(app, org, api, make_user):
    api("dave")
    gone = make_user("gone")
    with app.app_context(), unit_of_work(db.session):
        db.session.get(User, gone.id).active = False
    cases = [
        ({**AWAY, "from": AWAY["to"], "to": AWAY["from"], "deputy": "dave"}, "before it starts"),
        ({**AWAY, "deputy": "nobody"}, "'nobody' is not a user"),
        ({**AWAY, "deputy": "gone"}, "gone is deactivated"),
        ({**AWAY, "deputy": "bob"}, "cannot be their own deputy"),
        ({**AWAY, "from": "next week", "deputy": "dave"}, "not an ISO 8601 date"),
        ({"deputy": "dave"}, "from must be an ISO 8601 date"),
        ([1, 2], "must be"),
    ]
    for body, reason in cases:
        resp = org.bob.put("/api/v1/me/out-of-office", json=body)
        assert resp.status_code == 400, (body, resp.get_json())
        assert reason in resp.get_json()["error"]["message"], (body, resp.get_json())
    assert org.bob.get("/api/v1/me").get_json()["out_of_office"] is None


def test_only_admins_set_another_users_absence(org, api):
    api("dave")
    admin = api("root", roles=["admin"])
    refused = org.alice.put("/api/v1/users/bob/out-of-office", json={**AWAY, "deputy": "dave"})
    assert refused.status_code == 403
    done = admin.put("/api/v1/users/bob/out-of-office", json={**AWAY, "deputy": "dave"})
    assert done.status_code == 200, done.get_json()
    assert org.bob.get("/api/v1/me").get_json()["out_of_office"]["deputy"] == "dave"
    assert admin.put("/api/v1/users/nobody/out-of-office",
                     json={**AWAY, "deputy": "dave"}).status_code == 404


def test_a_new_task_goes_to_the_deputy_recorded_and_audited(app, org, api, pdf):
    dave = api("dave")
    before = submit(org.alice, org.seal_id, pdf).get_json()  # bob's, before he is away
    _away(org.bob, "dave")
    after = submit(org.alice, org.seal_id, pdf).get_json()

    mine = org.bob.get("/api/v1/tasks").get_json()
    assert [t["request_id"] for t in mine] == [before["id"]]  # the old one stays with bob
    (task,) = dave.get("/api/v1/tasks").get_json()
    assert task["request_id"] == after["id"]
    assert task["deputies"] == [{"absent": "bob", "deputy": "dave"}]
    assert task["candidate_users"] == ["dave"]
    assert _events(app, "task.deputised") == [
        {"task": task["id"], "absent": "bob", "deputy": "dave"}]
    done = dave.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"})
    assert done.status_code == 200, done.get_json()
    history = org.alice.get(f"/api/v1/requests/{after['id']}").get_json()["history"]
    assert [h["by"] for h in history if h["decision"] == "approve"] == ["dave"]


def test_never_to_a_deputy_who_is_the_requester(app, org, pdf):
    _away(org.bob, "alice")
    req = submit(org.alice, org.seal_id, pdf).get_json()
    task = only_task(org.bob)  # it stays with bob
    assert task["request_id"] == req["id"]
    assert task["deputies"] == [{"absent": "bob", "deputy": "alice",
                                 "kept": "the deputy alice is the request's requester"}]
    assert org.alice.get("/api/v1/tasks").get_json() == []
    (event,) = _events(app, "task.deputy_refused")
    assert event["kept"] == "the deputy alice is the request's requester"


def test_one_hop_only_a_deputy_who_is_away_too_still_gets_it(org, api, pdf):
    dave = api("dave")
    api("erin")
    _away(org.bob, "dave")
    _away(dave, "erin")
    req = submit(org.alice, org.seal_id, pdf).get_json()
    task = only_task(dave)
    assert task["request_id"] == req["id"]
    assert task["deputies"] == [{"absent": "bob", "deputy": "dave"}]


def test_a_future_absence_moves_nothing_yet(org, api, pdf):
    dave = api("dave")
    _away(org.bob, "dave", **{"from": (TODAY + timedelta(days=2)).isoformat()})
    assert org.bob.get("/api/v1/me").get_json()["out_of_office"]["active"] is False
    submit(org.alice, org.seal_id, pdf)
    assert only_task(org.bob)["deputies"] == []
    assert dave.get("/api/v1/tasks").get_json() == []


def test_a_deputy_never_meets_a_demand_for_a_role_they_do_not_hold(app, org, api, pdf):
    """carol keeps the seal, whose policy demands the custodian's approval; while she is away
    dave works her step, and his approval does not count as the custodian's: nothing is
    sealed, and the request says which demand was not met."""
    result = app.test_cli_runner().invoke(
        args=["seal", "policy", str(org.seal_id), "--demand", "custodian"])
    assert result.exit_code == 0, result.output
    dave = api("dave")
    _away(org.carol, "dave")
    req = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    task = only_task(dave)
    assert task["deputies"] == [{"absent": "carol", "deputy": "dave"}]
    assert approve(dave).status_code == 200
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "failed", body
    assert "custodian" in body["failure"] and "dave" in body["failure"], body["failure"]
    assert body["sealed_document"] is None


ASSIGNED = flow("assigned_to_lily", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="Review" camunda:assignee="lily" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="authorized" />
    {END_AUTHORIZED}""")
GROUP_TASK = flow("legal_group", f"""
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="legal" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="authorized" />
    {END_AUTHORIZED}""")


def test_an_absent_assignee_hands_the_task_to_the_deputy(org, api, pdf):
    dave = api("dave")
    assert deploy_bytes(org.designer, {"a.bpmn": ASSIGNED}).status_code == 201
    _away(org.lily, "dave")
    submit(org.alice, org.seal_id, pdf, process="assigned_to_lily")
    task = only_task(dave)
    assert task["assignee"] == "dave"
    assert task["deputies"] == [{"absent": "lily", "deputy": "dave"}]
    assert org.lily.get("/api/v1/tasks").get_json() == []


def test_candidate_groups_are_unchanged_by_an_absence(org, api, pdf):
    dave = api("dave")
    assert deploy_bytes(org.designer, {"g.bpmn": GROUP_TASK}).status_code == 201
    _away(org.lily, "dave")
    submit(org.alice, org.seal_id, pdf, process="legal_group")
    task = only_task(org.lily)  # the group's task: lily is still among its members
    assert task["candidate_groups"] == ["legal"] and task["deputies"] == []
    assert dave.get("/api/v1/tasks").get_json() == []
