"""processes.requests.migration: the plan, the checks that refuse an instance, and what a
migration keeps (the waiting task's variables, its timer) and changes (the version, the routing
ahead)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from processes.db import unit_of_work
from processes.errors import BadInput, NotFound
from processes.flows import engine
from processes.models import AuditEvent, Request, RequestStatus
from processes.requests import migration
from tests.conftest import approve, deploy_bytes, only_task, submit
from tests.e2e.test_deploy import AUTH_END, flow
from tests.e2e.test_migration import decide, deploy_version, with_finance_review


def _snapshot(app) -> tuple[list, int]:
    with app.app_context():
        rows = db.session.execute(select(Request.id, Request.process_id, Request.state,
                                         Request.status).order_by(Request.id)).all()
        events = db.session.execute(select(func.count(AuditEvent.seq))).scalar()
        db.session.rollback()
    return [tuple(r) for r in rows], events


def _plan(app, key: str, frm: int, to: int) -> migration.Migration:
    with app.app_context(), unit_of_work(db.session):
        return migration.plan(db.session, key, frm, to)


def _migrate(app, key: str, frm: int, to: int) -> migration.Migration:
    with app.app_context(), unit_of_work(db.session):
        return migration.migrate(db.session, key, frm, to, dry_run=False, actor=None)


def test_a_plan_changes_nothing_and_a_dry_run_is_a_plan(app, org, pdf):
    req = submit(org.alice, org.seal_id, pdf).get_json()
    deploy_version(org, with_finance_review(), 2)
    before = _snapshot(app)
    planned = _plan(app, "contract_seal", 1, 2)
    with app.app_context(), unit_of_work(db.session):
        dry = migration.migrate(db.session, "contract_seal", 1, 2, dry_run=True, actor=None)
    assert _snapshot(app) == before
    assert planned.as_dict() == dry.as_dict()
    assert (planned.dry_run, planned.moved, planned.refused) == (True, [req["id"]], [])
    assert planned.diff["added"] == ["finance_review"]


@pytest.mark.parametrize(("key", "frm", "to", "error", "message"), [
    ("nope", 1, 2, NotFound, "no process with key 'nope'"),
    ("contract_seal", 1, 9, NotFound, "has no version 9"),
    ("contract_seal", 9, 1, NotFound, "has no version 9"),
    ("contract_seal", 1, 1, BadInput, "nothing to migrate"),
    ("contract_seal", 1, 0, BadInput, "positive"),
    ("contract_seal", -1, 1, BadInput, "positive"),
])
def test_unknown_and_bad_versions(app, org, key, frm, to, error, message):
    with app.app_context(), pytest.raises(error, match=message):
        migration.migrate(db.session, key, frm, to, dry_run=False, actor=None)


def test_a_step_removed_ahead_does_not_stop_an_instance_but_one_waiting_in_it_is_refused(
        app, org, pdf, api):
    """Down from v2 to v1: finance_review is only predicted for an instance still at the dept
    head (the migration drops it), but another instance is waiting in it."""
    fay = api("fay", groups=["finance"])
    deploy_version(org, with_finance_review(), 2)
    ahead = submit(org.alice, org.seal_id, pdf).get_json()
    inside = submit(org.alice, org.seal_id, pdf).get_json()
    decide(org.bob, inside["id"])
    assert only_task(fay)["request_id"] == inside["id"]
    result = _migrate(app, "contract_seal", 2, 1)
    assert result.diff["removed"] == ["finance_review"]
    assert result.moved == [ahead["id"]]
    assert [r.as_dict() for r in result.refused] == [{
        "request": inside["id"], "element": "finance_review",
        "reason": "waiting in 'finance_review', which version 1 removed"}]
    decide(org.bob, ahead["id"])
    assert only_task(org.carol)["request_id"] == ahead["id"]  # version 1: no finance review
    assert approve(fay).status_code == 200  # the refused one still runs on version 2


def test_the_waiting_tasks_variables_are_kept(app, org, pdf):
    """The library resets a waiting task's data to its parent's, which would bring back the
    department head's ``decision``; the migration keeps the task's own variables."""
    req = submit(org.alice, org.seal_id, pdf).get_json()
    decide(org.bob, req["id"])
    deploy_version(org, with_finance_review(), 2)
    assert _migrate(app, "contract_seal", 1, 2).moved == [req["id"]]
    with app.app_context():
        row = db.session.get(Request, req["id"])
        wf = engine.load(row.process, row.state)
        [waiting] = engine.ready_user_tasks(wf)
        assert waiting.element_id == "custodian_approve"
        assert "decision" not in waiting.data
        assert waiting.data["amount"] == 50000
        db.session.rollback()


def test_final_requests_are_left_alone_and_incidents_move_but_stay_incidents(app, org, pdf, api):
    rejected = submit(org.alice, org.seal_id, pdf).get_json()
    decide(org.bob, rejected["id"], "reject")
    # Zed heads no one and belongs to no group: nobody may approve his request.
    zed = api("zed")
    stuck = submit(zed, org.seal_id, pdf).get_json()
    assert stuck["status"] == "incident", stuck
    deploy_version(org, with_finance_review(), 2)
    result = _migrate(app, "contract_seal", 1, 2)
    assert (result.moved, result.refused) == ([stuck["id"]], [])
    with app.app_context():
        assert db.session.get(Request, stuck["id"]).status == RequestStatus.incident
        assert db.session.get(Request, rejected["id"]).process.version == 1
        db.session.rollback()


# -- limits of the library: multi-instance activities, timers -----------------------------------

def _board(after_vote: bytes = b"") -> bytes:
    """Olga prepares, then each of ``approvers`` votes (parallel multi-instance)."""
    target = b"archive" if after_vote else b"done"
    return flow(
        b'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="prep"/>'
        b'<bpmn:userTask id="prep" name="Prepare" camunda:assignee="olga"/>'
        b'<bpmn:sequenceFlow id="f2" sourceRef="prep" targetRef="vote"/>'
        b'<bpmn:userTask id="vote" name="Vote" camunda:assignee="${approver}">'
        b'<bpmn:multiInstanceLoopCharacteristics camunda:collection="approvers" '
        b'camunda:elementVariable="approver"/></bpmn:userTask>'
        b'<bpmn:sequenceFlow id="f3" sourceRef="vote" targetRef="' + target + b'"/>'
        + after_vote + AUTH_END, b"board")


ARCHIVE = (b'<bpmn:userTask id="archive" name="Archive" camunda:assignee="olga"/>'
           b'<bpmn:sequenceFlow id="f4" sourceRef="archive" targetRef="done"/>')


def test_an_instance_inside_a_multi_instance_activity_is_refused(app, org, pdf, api):
    olga = api("olga")
    assert deploy_bytes(org.designer, {"board.bpmn": _board()}).status_code == 201
    voters = {"approvers": ["bob", "carol"]}
    before = submit(org.alice, org.seal_id, pdf, process="board", data=voters).get_json()
    voting = submit(org.alice, org.seal_id, pdf, process="board", data=voters).get_json()
    decide(olga, voting["id"])
    assert deploy_bytes(org.designer, {"board.bpmn": _board(ARCHIVE)}).status_code == 201
    result = _migrate(app, "board", 1, 2)
    assert result.diff["added"] == ["archive"]
    # SpiffWorkflow's Camunda multi-instance rewrites its spec's data references on first use,
    # so the running version's spec also differs in those.
    assert result.diff["changed"]["vote"][0] == "outgoing"
    assert result.moved == [before["id"]]
    assert [(r.request, r.element) for r in result.refused] == [(voting["id"], "vote")]
    assert "multi-instance" in result.refused[0].reason
    # The moved one reaches the vote on version 2, then version 2's archive task.
    decide(olga, before["id"])
    decide(org.bob, before["id"])
    decide(org.carol, before["id"])
    assert only_task(olga)["element_id"] == "archive"


def _timed(name: bytes) -> bytes:
    """Olga checks; after three days a boundary timer ends the request unapproved."""
    return flow(
        b'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="check"/>'
        b'<bpmn:userTask id="check" name="' + name + b'" camunda:assignee="olga"/>'
        b'<bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="done"/>'
        b'<bpmn:boundaryEvent id="late" attachedToRef="check"><bpmn:timerEventDefinition>'
        b"<bpmn:timeDuration>'P3D'</bpmn:timeDuration></bpmn:timerEventDefinition>"
        b'</bpmn:boundaryEvent><bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="late_end"/>'
        b'<bpmn:endEvent id="late_end"/>' + AUTH_END, b"timed")


def _timers(app, request_id: int) -> list:
    with app.app_context():
        row = db.session.get(Request, request_id)
        events = [(e.event_type, e.value) for e in
                  engine.load(row.process, row.state).waiting_events()]
        db.session.rollback()
    return events


def test_a_waiting_timer_keeps_its_due_time(app, org, pdf, api):
    olga = api("olga")
    assert deploy_bytes(org.designer, {"timed.bpmn": _timed(b"Check")}).status_code == 201
    req = submit(org.alice, org.seal_id, pdf, process="timed", data={}).get_json()
    assert deploy_bytes(org.designer, {"timed.bpmn": _timed(b"Check twice")}).status_code == 201
    due = _timers(app, req["id"])
    assert [kind for kind, _value in due] == ["DurationTimerEventDefinition"]
    result = _migrate(app, "timed", 1, 2)
    assert result.diff["changed"] == {"check": ["name"]}
    assert result.moved == [req["id"]]
    assert _timers(app, req["id"]) == due
    assert approve(olga).status_code == 200
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"


def _nested(inside: bytes = b"", after: bytes = b"") -> bytes:
    """An embedded subprocess in which Olga checks; ``inside`` adds a step after her check,
    ``after`` a step after the subprocess."""
    return flow(
        b'<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="sp"/>'
        b'<bpmn:subProcess id="sp"><bpmn:startEvent id="ss"/>'
        b'<bpmn:sequenceFlow id="sf1" sourceRef="ss" targetRef="check"/>'
        b'<bpmn:userTask id="check" name="Check" camunda:assignee="olga"/>'
        b'<bpmn:sequenceFlow id="sf2" sourceRef="check" targetRef="'
        + (b"recheck" if inside else b"se") + b'"/>' + inside + b'<bpmn:endEvent id="se"/>'
        b'</bpmn:subProcess><bpmn:sequenceFlow id="f2" sourceRef="sp" targetRef="'
        + (b"archive" if after else b"done") + b'"/>' + after + AUTH_END, b"nested")


RECHECK = (b'<bpmn:userTask id="recheck" name="Recheck" camunda:assignee="olga"/>'
           b'<bpmn:sequenceFlow id="sf3" sourceRef="recheck" targetRef="se"/>')


def test_inside_a_subprocess_a_changed_inside_moves_and_a_changed_exit_is_refused(
        app, org, pdf, api):
    olga = api("olga")
    assert deploy_bytes(org.designer, {"n.bpmn": _nested()}).status_code == 201
    req = submit(org.alice, org.seal_id, pdf, process="nested", data={}).get_json()
    task = only_task(olga)
    assert task["element_id"] == "check"
    for xml in (_nested(after=ARCHIVE), _nested(inside=RECHECK)):
        assert deploy_bytes(org.designer, {"n.bpmn": xml}).status_code == 201
    refused = _migrate(app, "nested", 1, 2)
    assert refused.diff["added"] == ["archive"]
    assert [(r.request, r.element) for r in refused.refused] == [(req["id"], "sp")]
    assert "version 1's wiring" in refused.refused[0].reason
    moved = _migrate(app, "nested", 1, 3)
    assert moved.diff == {"added": ["recheck"], "removed": [],
                          "changed": {"check": ["outgoing"], "se": ["incoming"]}}
    assert moved.moved == [req["id"]]
    assert only_task(olga)["id"] == task["id"]
    assert approve(olga).status_code == 200
    assert only_task(olga)["element_id"] == "recheck"
    assert approve(olga).status_code == 200
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "sealed"
