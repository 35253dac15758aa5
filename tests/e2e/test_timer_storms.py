"""A timer's work is bounded whatever the dates: the shipped lending flow's daily reminder with a
return date long past, or armed and then missed for years, fires once, not once per missed day
(it used to fire 740,000 times within one call for a return date in year 1); date fields stay in
a sane range; the firings of one advance are capped; a cycle that would fire for ever is refused.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from processes.db import unit_of_work
from processes.flows import engine
from processes.flows.timer_events import FIRINGS_PER_ADVANCE
from processes.models import AuditEvent, Request
from processes.requests import timers
from tests.conftest import approve, deploy, deploy_bytes, only_task, submit

LENDING = Path(__file__).resolve().parents[2] / "bpmn" / "seal_lending" / "seal_lending.bpmn"


@pytest.fixture
def lending(org):
    resp = deploy(org.designer, LENDING)
    assert resp.status_code == 201, resp.get_json()
    return org


def _lend(org, pdf, return_date: str):
    return submit(org.alice, org.seal_id, pdf, process="seal_lending",
                  data={"purpose": "签约", "destination": "上海", "out_date": "2026-01-05",
                        "return_date": return_date})


def _hand_out(org, pdf, return_date: str) -> int:
    """A loan approved and handed out: the custodian's return task waits, with its reminder."""
    resp = _lend(org, pdf, return_date)
    assert resp.status_code == 201, resp.get_json()
    assert approve(org.bob).status_code == 200
    assert approve(org.carol).status_code == 200
    assert approve(org.carol, handover_note="当面交付").status_code == 200
    assert only_task(org.carol)["element_id"] == "return_seal"
    return resp.get_json()["id"]


def _fire(app, request_id: int, now: datetime) -> bool:
    with app.app_context(), unit_of_work(db.session):
        return timers.fire(db.session, request_id, now=now)


def _due(app, request_id: int) -> datetime | None:
    with app.app_context():
        return db.session.get(Request, request_id).timer_due_at


def _engine_reminders(app, request_id: int) -> int:
    """How many times the engine ran the reminder's path (its end event 已提醒)."""
    with app.app_context():
        req = db.session.get(Request, request_id)
        wf = engine.load(req.process, req.state)
        return sum(1 for t in wf.tasks.values() if t.task_spec.bpmn_id == "reminded")


def _audited(app, request_id: int, action: str) -> list[dict]:
    with app.app_context():
        return list(db.session.execute(select(AuditEvent.details).where(
            AuditEvent.request_id == request_id, AuditEvent.action == action)
            .order_by(AuditEvent.seq)).scalars())


@pytest.mark.parametrize("return_date", ["0001-01-01", "1899-12-31", "2200-01-01"])
def test_a_date_outside_the_sane_range_is_refused_naming_the_field(lending, pdf, return_date):
    resp = _lend(lending, pdf, return_date)
    assert resp.status_code == 422, resp.get_json()
    (problem,) = resp.get_json()["error"]["problems"]
    assert problem["field"] == "return_date" and "1900-01-01" in problem["message"]


def test_a_return_date_long_past_reminds_from_the_next_day_on_not_once_per_missed_day(
        app, lending, pdf, clock):
    # The earliest date the range lets through: 46,000 days missed when the seal is handed out.
    request_id = _hand_out(lending, pdf, "1900-01-02")
    assert _engine_reminders(app, request_id) == 0  # missed before the timer was armed
    due = _due(app, request_id)
    assert clock.now() < due <= clock.now() + timedelta(days=1)

    assert _fire(app, request_id, clock.set(due + timedelta(minutes=1))) is True
    assert _engine_reminders(app, request_id) == 1
    assert len(_audited(app, request_id, "task.reminded")) == 1
    notices = lending.carol.get("/api/v1/notices").get_json()["notices"]
    assert [n["kind"] for n in notices].count("task.reminder") == 1
    assert _due(app, request_id) == due + timedelta(days=1)


def test_a_reminder_missed_for_twenty_years_fires_once(app, lending, pdf, clock):
    request_id = _hand_out(lending, pdf, (date.today() + timedelta(days=1)).isoformat())
    due = _due(app, request_id)
    later = clock.set(due + timedelta(days=20 * 365, minutes=1))  # Sealflow down for 20 years

    assert _fire(app, request_id, later) is True
    assert _engine_reminders(app, request_id) == 1
    assert [e["timers"] for e in _audited(app, request_id, "timer.fired")] == [
        ["remind_overdue"]]
    assert len(_audited(app, request_id, "task.reminded")) == 1
    assert later < _due(app, request_id) <= later + timedelta(days=1)
    assert approve(lending.carol, returned_intact=True).get_json()["request"]["status"] == \
        "authorized"


def _many_timers(count: int) -> bytes:
    """A parallel split into ``count`` branches, each waiting one hour, then a task."""
    branches = "".join(
        f'<bpmn:sequenceFlow id="to_{i}" sourceRef="split" targetRef="wait_{i}" />'
        f'<bpmn:intermediateCatchEvent id="wait_{i}"><bpmn:timerEventDefinition>'
        f'<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
        f'</bpmn:intermediateCatchEvent>'
        f'<bpmn:sequenceFlow id="from_{i}" sourceRef="wait_{i}" targetRef="join" />'
        for i in range(count))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
  <bpmn:process id="many_timers" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="split" />
    <bpmn:parallelGateway id="split" />{branches}
    <bpmn:parallelGateway id="join" />
    <bpmn:sequenceFlow id="f1" sourceRef="join" targetRef="check" />
    <bpmn:userTask id="check" camunda:candidateUsers="${{seal_custodians}}" />
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="ok" />
    <bpmn:endEvent id="ok"><bpmn:extensionElements><camunda:properties>
      <camunda:property name="outcome" value="authorized" /></camunda:properties>
    </bpmn:extensionElements></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_the_timers_one_advance_fires_are_capped_and_the_rest_fire_next(app, org, pdf, clock):
    count = FIRINGS_PER_ADVANCE + 5
    assert deploy_bytes(org.designer, {"t.bpmn": _many_timers(count)}).status_code == 201
    req = submit(org.alice, org.seal_id, pdf, process="many_timers", data={}).get_json()
    later = clock.advance(hours=2)

    assert _fire(app, req["id"], later) is True
    assert len(_audited(app, req["id"], "timer.fired")[0]["timers"]) == FIRINGS_PER_ADVANCE
    assert org.carol.get("/api/v1/tasks").get_json() == []
    assert _due(app, req["id"]) <= later  # the rest are still due: the scheduler goes on

    assert _fire(app, req["id"], later) is True
    assert len(_audited(app, req["id"], "timer.fired")[1]["timers"]) == 5
    assert only_task(org.carol)["element_id"] == "check"


def test_a_cycle_that_would_fire_for_ever_is_refused_at_deploy(org):
    text = LENDING.read_text().replace("${'R/' + return_date + 'T18:00:00/P1D'}", "R/PT0S")
    resp = deploy_bytes(org.designer, {"seal_lending.bpmn": text.encode()})
    assert resp.status_code == 422
    (problem,) = resp.get_json()["error"]["problems"]
    assert problem["element"] == "remind_overdue" and "at least 1 second" in problem["message"]


def test_a_cycle_computed_to_fire_for_ever_is_an_incident(lending, pdf):
    text = LENDING.read_text().replace("${'R/' + return_date + 'T18:00:00/P1D'}",
                                       "${'R/' + return_date + 'T18:00:00/PT0S'}")
    assert deploy_bytes(lending.designer, {"seal_lending.bpmn": text.encode()}).status_code \
        == 201
    resp = _lend(lending, pdf, "2026-01-06")
    approve(lending.bob)
    approve(lending.carol)
    assert approve(lending.carol).status_code == 200
    body = lending.alice.get(f"/api/v1/requests/{resp.get_json()['id']}").get_json()
    assert body["status"] == "incident"
    assert body["failure"].startswith("remind_overdue:") and "at least 1 second" in \
        body["failure"]


@pytest.mark.parametrize("due", ["P9999Y", "${'0001-01-01T00:00:00'}"])
def test_a_due_date_past_the_calendar_is_an_incident_not_a_500(app, org, pdf, clock, due):
    text = _many_timers(1).replace(b'camunda:candidateUsers="${seal_custodians}"',
                                   f'camunda:candidateUsers="${{seal_custodians}}" '
                                   f'camunda:dueDate="{due}"'.encode())
    assert deploy_bytes(org.designer, {"t.bpmn": text}).status_code == 201
    req = submit(org.alice, org.seal_id, pdf, process="many_timers", data={}).get_json()
    assert _fire(app, req["id"], clock.advance(hours=2)) is True  # the task opens now
    body = org.alice.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "incident"
    assert body["failure"].startswith("check: dueDate")
