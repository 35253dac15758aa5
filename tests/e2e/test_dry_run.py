"""The dry run (POST /api/v1/processes/dry-run): the route a request would take through the
shipped contract flow or an unsaved one, with its people, DMN rules, timers and end; a loop
capped; nothing stored, nothing sent."""

from __future__ import annotations

import io
import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.demo import GROUPS
from app.extensions import db
from processes import signals
from processes.db import unit_of_work
from processes.flows.bpmn import load_flow
from processes.models import Base
from processes.people import directory
from tests.conftest import CONTRACT_BPMN

CONTRACT_DMN = CONTRACT_BPMN.parent / "contract_routing.dmn"
DATA = Path(__file__).parent / "data"
LOOP = DATA / "revision_loop" / "revision_loop.bpmn"
TIMERS = DATA / "timer_escalation" / "timer_escalation.bpmn"


def _dry_run(client, files: dict[str, bytes] | None = None, **fields: Any):
    form: dict[str, Any] = {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v)
                            for k, v in fields.items()}
    if files:
        form["file"] = [(io.BytesIO(b), n) for n, b in files.items()]
    started = time.perf_counter()
    resp = client.post("/api/v1/processes/dry-run", data=form,
                       content_type="multipart/form-data")
    print(f"dry run answered in {(time.perf_counter() - started) * 1000:.1f} ms")
    return resp


def _steps(body: dict) -> list[str]:
    return [step["element_id"] for step in body["route"]]


def _step(body: dict, element: str) -> dict:
    return next(step for step in body["route"] if step["element_id"] == element)


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {t.name: db.session.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in Base.metadata.sorted_tables}


def test_a_large_contract_routes_through_legal_and_names_its_people(org):
    resp = _dry_run(org.designer, process="contract_seal", requester="alice", seal=org.seal_id,
                    data={"amount": 2_000_000, "purpose": "采购合同"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["problems"] == []
    route = _steps(body)
    assert route.index("dept_head_approve") < route.index("route_contract") \
        < route.index("legal_review") < route.index("custodian_approve")
    assert _step(body, "dept_head_approve")["people"] == ["bob"]  # ${requester_heads}
    assert _step(body, "legal_review")["people"] == ["lily"]  # the lane 法务部 names the group
    assert _step(body, "custodian_approve")["people"] == ["carol"]  # ${seal_custodians}
    assert _step(body, "legal_review")["decision"] == "approve"
    routing = _step(body, "route_contract")
    assert routing["kind"] == "businessRuleTask"
    assert routing["rule"]["id"] == "Rule_contract_large"
    assert routing["result"] == {"needs_legal": True}
    assert body["end"] == {"element_id": "end_authorized", "authorized": True}


def test_a_small_contract_skips_legal(org):
    resp = _dry_run(org.designer, process="contract_seal", requester="alice", seal=org.seal_id,
                    data={"amount": 5000, "purpose": "采购合同"})
    body = resp.get_json()
    assert "legal_review" not in _steps(body)
    assert _step(body, "route_contract")["rule"]["id"] == "Rule_contract_small"
    assert body["end"]["authorized"] is True


def test_a_rejection_ends_at_the_rejected_end(org):
    resp = _dry_run(org.designer, process="contract_seal", requester="alice", seal=org.seal_id,
                    data={"amount": 2_000_000, "purpose": "采购合同"},
                    decisions={"legal_review": "reject"})
    body = resp.get_json()
    assert _step(body, "legal_review")["decision"] == "reject"
    assert "custodian_approve" not in _steps(body)
    assert body["end"] == {"element_id": "end_rejected", "authorized": False}


def test_unsaved_files_run_as_drawn_a_lower_threshold_routes_to_legal(org):
    bpmn = CONTRACT_BPMN.read_bytes()
    lowered = CONTRACT_DMN.read_bytes().replace(b"1000000", b"500000")
    data = {"amount": 600_000, "purpose": "采购合同"}
    files = {"contract_seal.bpmn": bpmn, "contract_routing.dmn": lowered}
    drawn = _dry_run(org.designer, files, requester="alice", seal=org.seal_id, data=data)
    assert drawn.status_code == 200, drawn.get_json()
    assert "legal_review" in _steps(drawn.get_json())
    assert drawn.get_json()["process"] == {"key": "contract_seal", "version": None}
    deployed = _dry_run(org.designer, process="contract_seal", requester="alice",
                        seal=org.seal_id, data=data)
    assert "legal_review" not in _steps(deployed.get_json())


def test_a_loop_is_capped_and_reported(org, make_seal):
    files = {"revision_loop.bpmn": LOOP.read_bytes()}
    resp = _dry_run(org.designer, files, requester="alice", seal=org.seal_id,
                    decisions={"review": "return"}, max_steps=7)
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["end"] is None
    tasks = [s for s in body["route"] if s["kind"] == "userTask"]
    assert [s["element_id"] for s in tasks] == ["review", "revise"] * 4
    assert [s.get("decision") for s in tasks[::2]] == ["return"] * 4
    assert "decision" not in tasks[-1]  # reached when the cap ended the run
    assert _step(body, "revise")["people"] == ["alice"]  # the requester's own task
    assert any("stopped after 7 tasks" in p["message"] for p in body["problems"])

    # A thousand rounds run as the engine runs a request's (its history compacted).
    body = _dry_run(org.designer, files, requester="alice", seal=org.seal_id,
                    decisions={"review": "return"}, max_steps=1000).get_json()
    assert (body["steps"], body["end"]) == (1000, None)
    assert "stopped after 1000 tasks at 'review'" in body["problems"][0]["message"]

    # Decisions per visit: returned once, then approved.
    resp = _dry_run(org.designer, files, requester="alice", seal=org.seal_id,
                    decisions={"review": ["return", "approve"]})
    body = resp.get_json()
    assert [s["element_id"] for s in body["route"] if s["kind"] == "userTask"] == \
        ["review", "revise", "review"]
    assert body["end"] == {"element_id": "authorized", "authorized": True}


def test_a_loop_with_no_task_in_it_is_refused_as_a_deploy_refuses_it(org):
    files = {"gateway_loop.bpmn": (DATA / "gateway_loop" / "gateway_loop.bpmn").read_bytes()}
    resp = _dry_run(org.designer, files, requester="alice", seal=org.seal_id)
    assert resp.status_code == 422
    problems = resp.get_json()["error"]["problems"]
    assert problems[0]["element"] == "gw1"
    assert "loops through gw1, gw2 with no task, timer or message" in problems[0]["message"]


def test_subprocesses_and_countersigns_are_worked_element_by_element(org):
    files = {"embedded_subprocess.bpmn":
             (DATA / "embedded_subprocess" / "embedded_subprocess.bpmn").read_bytes()}
    body = _dry_run(org.designer, files, requester="alice", seal=org.seal_id).get_json()
    assert _step(body, "legal_stage")["kind"] == "subProcess"
    assert _step(body, "legal_review")["people"] == ["lily"]
    assert body["end"]["authorized"] is True

    files = {"mi_any.bpmn": (DATA / "mi_any" / "mi_any.bpmn").read_bytes()}
    body = _dry_run(org.designer, files, requester="alice", seal=org.seal_id,
                    data={"approvers": ["bob", "carol", "lily"]}).get_json()
    votes = [s for s in body["route"] if s["element_id"] == "countersign"]
    assert [s["people"] for s in votes] == [["bob"], ["carol"], ["lily"]]
    # One approval completes the countersign; the other instances are withdrawn.
    assert [(s.get("decision"), s.get("cancelled")) for s in votes] == [
        ("approve", None), (None, True), (None, True)]
    assert body["end"]["authorized"] is True


def test_timers_are_listed_with_their_due_time_not_fired_unless_told(org, api):
    api("mia", groups=["managers"])
    files = {"timer_escalation.bpmn": TIMERS.read_bytes()}
    resp = _dry_run(org.designer, files, requester="alice", seal=org.seal_id)
    body = resp.get_json()
    assert resp.status_code == 200, body
    escalate = _step(body, "escalate_after_3d")
    assert escalate["fired"] is False and escalate["due_at"]
    assert _step(body, "head_approve")["due_at"]  # camunda:dueDate P2D
    assert "manager_approve" not in _steps(body)
    # The approval leads to a one-hour wait: the run stops there, saying so.
    assert body["end"] is None
    assert [p["element"] for p in body["problems"]] == ["cooling_off"]

    resp = _dry_run(org.designer, files, requester="alice", seal=org.seal_id,
                    decisions={"escalate_after_3d": "fire", "cooling_off": "fire"})
    body = resp.get_json()
    assert _step(body, "escalate_after_3d")["fired"] is True
    assert _step(body, "manager_approve")["people"] == ["mia"]
    head = _step(body, "head_approve")  # reached, then taken away by the escalation
    assert (head["people"], head.get("cancelled"), head.get("decision")) == (["bob"], True, None)
    assert body["end"] == {"element_id": "authorized", "authorized": True}
    assert body["problems"] == []


def test_broken_xml_answers_422_with_the_problems(org):
    resp = _dry_run(org.designer, {"broken.bpmn": b"<bpmn:definitions><unclosed>"})
    assert resp.status_code == 422
    assert resp.get_json()["error"]["problems"]


def test_only_designers_managers_and_admins_dry_run(org, api):
    resp = _dry_run(org.alice, process="contract_seal", seal=org.seal_id,
                    data={"amount": 5000, "purpose": "x"})
    assert resp.status_code == 403
    manager = api("mona", roles=["manager"])
    resp = manager.post("/api/v1/processes/dry-run", json={  # a JSON body does too
        "process": "contract_seal", "version": 1, "seal": org.seal_id,
        "data": {"amount": 5000, "purpose": "x"}, "decisions": {"custodian_approve": "reject"}})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["requester"] == "mona"  # by default, the caller
    # mona is in no group: ${requester_heads} names no one, and a request would stop there.
    assert body["route"][-1]["element_id"] == "dept_head_approve"
    assert body["end"] is None
    assert [p["element"] for p in body["problems"]] == ["dept_head_approve", "custodian_approve"]
    assert "no one may work" in body["problems"][0]["message"]


def test_bad_input_is_422(org):
    resp = _dry_run(org.designer, process="contract_seal", requester="nobody",
                    seal=org.seal_id, data={"amount": 5000, "purpose": "x"})
    assert resp.status_code == 422
    resp = _dry_run(org.designer, process="contract_seal", requester="alice",
                    seal=org.seal_id, data={"purpose": "x"})  # amount is required
    assert resp.status_code == 422
    resp = _dry_run(org.designer, process="contract_seal", requester="alice",
                    seal=org.seal_id, data={"amount": 5000, "purpose": "x"},
                    decisions={"dept_head_approve": "maybe"})
    assert resp.status_code == 422


def test_nothing_is_stored_and_nothing_is_sent(app, org, monkeypatch):
    sent: list[str] = []
    for name in ("grant_created", "request_finished", "task_created", "timer_armed",
                 "lifecycle_authorized"):
        monkeypatch.setattr(signals, name, _Recorder(name, sent))
    before = _counts(app)
    for decisions in ({}, {"custodian_approve": "reject"}):
        resp = _dry_run(org.designer, process="contract_seal", requester="alice",
                        seal=org.seal_id, data={"amount": 2_000_000, "purpose": "采购合同"},
                        decisions=decisions)
        assert resp.status_code == 200
    assert _counts(app) == before
    assert sent == []


class _Recorder:
    def __init__(self, name: str, sent: list[str]) -> None:
        self.name, self.sent = name, sent

    def send(self, *args: Any, **kwargs: Any) -> None:
        self.sent.append(self.name)


@pytest.mark.parametrize("amount", [5000, 2_000_000])
def test_a_shipped_flow_answers_at_once(org, amount, capsys):
    _dry_run(org.designer, process="contract_seal", requester="alice", seal=org.seal_id,
             data={"amount": amount, "purpose": "x"})  # the first run parses the flow
    resp = _dry_run(org.designer, process="contract_seal", requester="alice",
                    seal=org.seal_id, data={"amount": amount, "purpose": "x"})
    assert resp.status_code == 200
    with capsys.disabled():
        print(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_seal_policy_that_refuses_the_request_is_a_problem(app, org):
    from processes.models import Seal
    from processes.seals import policy

    data = {"amount": 5000, "purpose": "x"}
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None,
                          groups=["legal"])
    body = _dry_run(org.designer, process="contract_seal", requester="alice", seal=org.seal_id,
                    data=data).get_json()
    assert [p["message"] for p in body["problems"]] == [
        "a request would be refused: the seal's policy refuses this use (groups): "
        f"seal {org.seal_id} may be used only by departments legal"]
    assert body["end"]["authorized"] is True  # the route is still shown
    body = _dry_run(org.designer, process="contract_seal", requester="lily", seal=org.seal_id,
                    data=data).get_json()
    assert not any("would be refused" in p["message"] for p in body["problems"])


SHIPPED = sorted(p.name for p in (CONTRACT_BPMN.parents[1]).iterdir() if p.is_dir())


def _sample_data(files: dict[str, bytes]) -> dict[str, Any]:
    """A value for each required field of the flow's start form."""
    samples = {"long": 1000, "boolean": False, "date": date.today().isoformat()}
    return {f["id"]: f["values"][0]["id"] if f["type"] == "enum"
            else samples.get(f["type"], "carol")  # a user name, where a field wants one
            for f in load_flow(files).start_form if f["required"]}


def test_every_shipped_flow_runs_to_its_authorized_end_with_approvals(app, org, api):
    for name, group in {"olivia": "admin_office", "leo": "leaders", "frank": "finance",
                        "grace": "finance_director", "helen": "hr"}.items():
        api(name, groups=[group])
    with app.app_context(), unit_of_work(db.session):
        for key, name in GROUPS:
            directory.add_group(db.session, key, name=name)
    assert len(SHIPPED) == 10
    for key in SHIPPED:
        files = {p.name: p.read_bytes() for p in (CONTRACT_BPMN.parents[1] / key).iterdir()
                 if p.suffix in (".bpmn", ".dmn")}
        resp = _dry_run(org.designer, files, requester="alice", seal=org.seal_id,
                        data=_sample_data(files))
        body = resp.get_json()
        assert resp.status_code == 200, (key, body)
        assert body["end"]["authorized"] is True, (key, body)
        assert [p for p in body["problems"] if p["severity"] == "error"] == [], (key, body)
        tasks = [s for s in body["route"] if s["kind"] == "userTask"]
        assert tasks and all(s["people"] for s in tasks), (key, body)
