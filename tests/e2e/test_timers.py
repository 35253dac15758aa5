"""Timers: reminders, escalation to a group, auto-rejection, a wait; due times in the database,
re-armed after a restart; a timer missed while Sealflow was down fires once."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.jobs import runner
from processes.db import unit_of_work
from processes.models import AuditEvent, Request
from processes.requests import timers
from tests.conftest import approve, deploy, only_task, submit

FLOW = Path(__file__).parent / "data" / "timer_escalation" / "timer_escalation.bpmn"


@pytest.fixture
def timed(org, api):
    resp = deploy(org.designer, FLOW)
    assert resp.status_code == 201, resp.get_json()
    org.manager = api("mia", groups=["managers"])
    return org


def _request(app, request_id: int) -> Request:
    with app.app_context():
        req = db.session.get(Request, request_id)
        db.session.expunge(req)
        return req


def _fire(app, request_id: int, now: datetime) -> bool:
    with app.app_context(), unit_of_work(db.session):
        return timers.fire(db.session, request_id, now=now)


def _actions(app, request_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.action).where(
            AuditEvent.request_id == request_id).order_by(AuditEvent.seq)).scalars())


def test_remind_then_escalate_then_wait_then_seal(app, timed, pdf, clock):
    req = submit(timed.alice, timed.seal_id, pdf, process="timer_escalation", data={}).get_json()
    task = only_task(timed.bob)
    due = datetime.fromisoformat(task["due_at"])
    assert timedelta(days=1, hours=23) < due - clock.now() <= timedelta(days=2)
    first_due = _request(app, req["id"]).timer_due_at
    assert timedelta(hours=23) < first_due - clock.now() <= timedelta(days=1)
    assert _fire(app, req["id"], clock.now()) is False  # nothing due yet

    _fire(app, req["id"], clock.advance(days=1, minutes=1))
    assert _actions(app, req["id"]).count("task.reminded") == 1
    assert only_task(timed.bob)["id"] == task["id"]  # a reminder does not take the task away
    (reminded,) = [n for n in timed.bob.get("/api/v1/notices").get_json()["notices"]
                   if n["kind"] != "task.assigned"]
    assert reminded["kind"] == "task.reminder" and reminded["link"] == f"/tasks/{task['id']}"
    assert f"#{req['id']}" in reminded["message"]

    # Sealflow is "down" for two days: the day-2 reminder is missed, the escalation is due.
    _fire(app, req["id"], clock.advance(days=2))
    assert _actions(app, req["id"]).count("task.reminded") == 2  # once, not once per day
    assert timed.bob.get("/api/v1/tasks").get_json() == []
    escalated = only_task(timed.manager)
    assert escalated["element_id"] == "manager_approve"
    assert escalated["candidate_groups"] == ["managers"]

    assert approve(timed.manager).status_code == 200
    waiting = timed.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert waiting["status"] == "running" and waiting["tasks"] == []
    assert _fire(app, req["id"], clock.advance(minutes=30)) is False
    _fire(app, req["id"], clock.advance(minutes=31))
    body = timed.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "sealed", body
    assert _request(app, req["id"]).timer_due_at is None


def test_escalated_task_left_alone_is_auto_rejected(app, timed, pdf, clock):
    req = submit(timed.alice, timed.seal_id, pdf, process="timer_escalation", data={}).get_json()
    _fire(app, req["id"], clock.advance(days=3, minutes=1))
    assert only_task(timed.manager)["element_id"] == "manager_approve"
    _fire(app, req["id"], clock.advance(days=4, minutes=1))
    body = timed.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "rejected"
    assert body["tasks"] == []


def test_a_timer_due_while_down_fires_once_when_the_scheduler_starts(app, timed, pdf, clock):
    req = submit(timed.alice, timed.seal_id, pdf, process="timer_escalation", data={}).get_json()
    clock.advance(days=3, minutes=5)  # down through a reminder and the escalation
    jobs = runner(app)
    jobs.start_scheduler()
    try:
        for _ in range(100):
            if timed.manager.get("/api/v1/tasks").get_json():
                break
            time.sleep(0.05)
    finally:
        jobs.shutdown()
    assert only_task(timed.manager)["element_id"] == "manager_approve"
    fired = _actions(app, req["id"]).count("timer.fired")
    assert fired == 1, _actions(app, req["id"])


def test_bad_timer_values_are_refused_at_deploy(org):
    from tests.conftest import deploy_bytes
    text = FLOW.read_text().replace("<bpmn:timeDuration>PT1H</bpmn:timeDuration>",
                                    "<bpmn:timeDuration>PT1H30</bpmn:timeDuration>")
    resp = deploy_bytes(org.designer, {"t.bpmn": text.encode()})
    assert resp.status_code == 422
    problem = resp.get_json()["error"]["problems"][0]
    assert problem["element"] == "cooling_off" and "ISO 8601" in problem["message"]
