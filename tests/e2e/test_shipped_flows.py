"""The flows an organisation starts with (bpmn/): each one through the API to a sealed
document, the contract flow's DMN routing (and a new table changing it for new requests), the
lending flow's overdue reminders, and `sealflow demo` deploying and mapping them all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.demo import GROUPS
from app.extensions import db
from processes.db import unit_of_work
from processes.flows import definitions
from processes.isotime import timezone_name
from processes.models import AuditEvent, Group, Membership, Request, Seal, User
from processes.people import directory
from processes.requests import timers
from tests.conftest import ApiClient, Org, approve, deploy, deploy_bytes, only_task, submit

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
CONTRACT_DIR = BPMN_DIR / "contract_seal"
SHIPPED = ["contract_seal", "official_document", "finance_seal", "hr_certificate",
           "seal_lending", "seal_make", "seal_change", "seal_resume", "seal_void",
           "seal_revoke"]



@dataclass
class Cast:
    """The org fixture's people plus one member of each group the shipped lanes name."""

    org: Org
    olivia: ApiClient  # 办公室 admin_office
    leo: ApiClient  # 分管领导 leaders
    frank: ApiClient  # 财务部 finance
    grace: ApiClient  # 财务总监 finance_director
    helen: ApiClient  # 人力资源部 hr
    manager: ApiClient

    def __getattr__(self, name: str):
        return getattr(self.org, name)


@pytest.fixture
def cast(app, org, api) -> Cast:
    """Every shipped flow deployed (each with the .dmn files beside it); the groups named
    as the demo names them, so the lanes (Chinese display names) find them."""
    members = {"olivia": "admin_office", "leo": "leaders", "frank": "finance",
               "grace": "finance_director", "helen": "hr"}
    clients = {name: api(name, groups=[group]) for name, group in members.items()}
    with app.app_context(), unit_of_work(db.session):
        for key, name in GROUPS:
            directory.add_group(db.session, key, name=name)
    for key in SHIPPED[1:]:
        deployer = org.seal_admin if key.startswith("seal_") and key != "seal_lending" \
            else org.designer
        resp = deploy(deployer, BPMN_DIR / key / f"{key}.bpmn")
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["warnings"] == []
    return Cast(org, **clients, manager=api("mona", roles=["manager"]))


def _submit(who: ApiClient, seal_id: int, pdf: bytes, process: str, data: dict) -> dict:
    resp = submit(who, seal_id, pdf, process=process, data=data)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _request(who: ApiClient, req: dict) -> dict:
    return who.get(f"/api/v1/requests/{req['id']}").get_json()


def _decide(who: ApiClient, req: dict, decision: str = "approve", **data) -> dict:
    task = next(t for t in who.get("/api/v1/tasks").get_json() if t["request_id"] == req["id"])
    resp = who.post(f"/api/v1/tasks/{task['id']}/complete",
                    json={"decision": decision, "data": data})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()["request"]


def _history(who: ApiClient, req: dict) -> list[tuple[str, str]]:
    return [(h["element"], h["by"]) for h in _request(who, req)["history"]]


def _seal_of_type(app, make_seal, seal_type: str) -> int:
    seal_id = make_seal(["carol"], name=f"测试科技有限公司{seal_type}")
    with app.app_context(), unit_of_work(db.session):
        db.session.get(Seal, seal_id).type = seal_type
    return seal_id


# -- the happy paths ------------------------------------------------------------------------

def test_contract_large_amount_goes_to_legal_and_small_does_not(cast, pdf):
    big = _submit(cast.alice, cast.seal_id, pdf, "contract_seal",
                  {"amount": 1_500_000, "purpose": "年度采购框架合同"})
    small = _submit(cast.alice, cast.seal_id, pdf, "contract_seal",
                    {"amount": 500_000, "purpose": "采购合同"})
    _decide(cast.bob, big)
    _decide(cast.bob, small)
    task = only_task(cast.lily)
    assert (task["request_id"], task["element_id"], task["lane"]) == (
        big["id"], "legal_review", "法务部")
    assert task["candidate_groups"] == ["legal"]
    assert _decide(cast.lily, big, legal_opinion="条款无误")["status"] == "running"
    _decide(cast.carol, big)
    _decide(cast.carol, small)
    assert [_request(cast.alice, r)["status"] for r in (big, small)] == ["sealed", "sealed"]
    assert _history(cast.alice, big) == [("dept_head_approve", "bob"),
                                         ("legal_review", "lily"),
                                         ("custodian_approve", "carol")]
    assert _history(cast.alice, small) == [("dept_head_approve", "bob"),
                                           ("custodian_approve", "carol")]


def test_official_document_office_then_leader_then_custodian(cast, pdf):
    req = _submit(cast.alice, cast.seal_id, pdf, "official_document",
                  {"doc_type": "request", "doc_title": "关于申请购置办公设备的请示"})
    assert req["data"]["urgent"] is False  # the form's default
    task = only_task(cast.olivia)
    assert (task["element_id"], task["lane"], task["candidate_groups"]) == (
        "office_review", "办公室", ["admin_office"])
    assert cast.alice.get("/api/v1/tasks").get_json() == []
    resp = cast.olivia.post(f"/api/v1/tasks/{task['id']}/complete",
                            json={"decision": "approve"})
    assert resp.status_code == 422  # 核稿意见 is required
    approve(cast.olivia, office_opinion="格式规范")
    assert only_task(cast.leo)["candidate_groups"] == ["leaders"]
    approve(cast.leo, leader_opinion="同意签发")
    assert approve(cast.carol).get_json()["request"]["status"] == "authorized"
    assert _request(cast.alice, req)["status"] == "sealed"
    assert _history(cast.alice, req) == [("office_review", "olivia"),
                                         ("leader_signoff", "leo"),
                                         ("custodian_approve", "carol")]


def test_official_document_rejected_by_the_leader(cast, pdf):
    req = _submit(cast.alice, cast.seal_id, pdf, "official_document",
                  {"doc_type": "letter", "doc_title": "商洽函"})
    approve(cast.olivia, office_opinion="可")
    _decide(cast.leo, req, "reject")
    assert _request(cast.alice, req)["status"] == "rejected"
    assert cast.carol.get("/api/v1/tasks").get_json() == []


def test_finance_the_table_calls_the_director_by_purpose_and_amount(cast, pdf):
    bank = _submit(cast.alice, cast.seal_id, pdf, "finance_seal",
                   {"amount": 500_000, "purpose": "bank", "description": "开立基本户"})
    tax = _submit(cast.alice, cast.seal_id, pdf, "finance_seal",
                  {"amount": 9_000_000, "purpose": "tax", "description": "年度汇算清缴"})
    for req in (bank, tax):
        _decide(cast.frank, req, finance_opinion="资料齐全")
    task = only_task(cast.grace)
    assert (task["request_id"], task["element_id"], task["candidate_groups"]) == (
        bank["id"], "director_approve", ["finance_director"])
    _decide(cast.grace, bank)
    _decide(cast.carol, bank)
    _decide(cast.carol, tax)
    assert [_request(cast.alice, r)["status"] for r in (bank, tax)] == ["sealed", "sealed"]
    assert [e for e, _ in _history(cast.alice, tax)] == ["finance_review", "custodian_approve"]
    assert [e for e, _ in _history(cast.alice, bank)] == [
        "finance_review", "director_approve", "custodian_approve"]
    bad = submit(cast.alice, cast.seal_id, pdf, process="finance_seal",
                 data={"amount": 1, "purpose": "lottery", "description": "?"})
    assert bad.status_code == 422


def test_hr_income_certificates_also_need_the_department_head(cast, pdf):
    income = _submit(cast.alice, cast.seal_id, pdf, "hr_certificate",
                     {"cert_type": "income", "purpose": "办理签证"})
    employment = _submit(cast.alice, cast.seal_id, pdf, "hr_certificate",
                         {"purpose": "办理居住证"})
    assert employment["data"]["cert_type"] == "employment"  # the form's default
    _decide(cast.helen, income)
    _decide(cast.helen, employment)
    task = only_task(cast.bob)
    assert (task["request_id"], task["element_id"]) == (income["id"], "head_approve")
    _decide(cast.bob, income)
    _decide(cast.carol, income)
    _decide(cast.carol, employment)
    assert [_request(cast.alice, r)["status"] for r in (income, employment)] == ["sealed",
                                                                                "sealed"]
    assert _history(cast.alice, income) == [("hr_review", "helen"), ("head_approve", "bob"),
                                            ("custodian_approve", "carol")]
    assert _history(cast.alice, employment) == [("hr_review", "helen"),
                                                ("custodian_approve", "carol")]


def _fire(app, request_id: int, now: datetime) -> bool:
    with app.app_context(), unit_of_work(db.session):
        return timers.fire(db.session, request_id, now=now)


def _reminders(app, request_id: int) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.request_id == request_id,
            AuditEvent.action == "task.reminded")).scalar()


def test_seal_lending_out_and_back_with_daily_reminders_once_overdue(app, cast, pdf, clock):
    zone = ZoneInfo(timezone_name())
    back = date.today() + timedelta(days=3)
    due = datetime.combine(back, time(18, 0), zone)
    req = _submit(cast.alice, cast.seal_id, pdf, "seal_lending",
                  {"purpose": "赴客户现场签约", "destination": "上海市浦东新区",
                   "out_date": date.today().isoformat(), "return_date": back.isoformat()})
    missing = submit(cast.alice, cast.seal_id, pdf, process="seal_lending",
                     data={"purpose": "签约", "destination": "上海"})
    assert missing.status_code == 422
    assert {p["field"] for p in missing.get_json()["error"]["problems"]} == {
        "out_date", "return_date"}
    approve(cast.bob)
    approve(cast.carol)
    task = only_task(cast.carol)
    assert (task["element_id"], task["name"]) == ("hand_out", "交付印章")
    approve(cast.carol, handover_note="印章完好，当面交付")
    task = only_task(cast.carol)
    assert (task["element_id"], task["name"]) == ("return_seal", "归还印章")
    assert datetime.fromisoformat(task["due_at"]) == due
    with app.app_context():
        assert db.session.get(Request, req["id"]).timer_due_at == due
    assert _request(cast.alice, req)["status"] == "running"  # the seal is out

    assert _fire(app, req["id"], clock.set(due - timedelta(hours=1))) is False
    _fire(app, req["id"], clock.set(due + timedelta(minutes=1)))
    assert _reminders(app, req["id"]) == 1
    assert only_task(cast.carol)["id"] == task["id"]  # a reminder does not take the task away
    _fire(app, req["id"], clock.set(due + timedelta(days=1, minutes=1)))
    assert _reminders(app, req["id"]) == 2

    assert approve(cast.carol, returned_intact=True,
                   return_note="按时归还").get_json()["request"]["status"] == "authorized"
    body = _request(cast.alice, req)
    assert body["status"] == "sealed", body
    assert [e for e, _ in _history(cast.alice, req)] == [
        "dept_head_approve", "custodian_approve", "hand_out", "return_seal"]
    with app.app_context():
        assert db.session.get(Request, req["id"]).timer_due_at is None


def test_seal_lending_not_handed_out_ends_rejected(cast, pdf):
    req = _submit(cast.alice, cast.seal_id, pdf, "seal_lending",
                  {"purpose": "外出办事", "destination": "市政务中心",
                   "out_date": "2026-06-01", "return_date": "2026-06-02"})
    approve(cast.bob)
    approve(cast.carol)
    _decide(cast.carol, req, "reject")
    assert _request(cast.alice, req)["status"] == "rejected"


# -- the contract flow's decision table -----------------------------------------------------

def test_the_contract_table_routes_by_amount_and_seal_type(app, org, make_seal, pdf):
    official_seal = _seal_of_type(app, make_seal, "公章")
    cases = [(org.seal_id, 1_500_000, True), (org.seal_id, 500_000, False),
             (official_seal, 500_000, True), (official_seal, 150_000, False)]
    to_legal, to_custodian = set(), set()
    for seal_id, amount, needs_legal in cases:
        req = _submit(org.alice, seal_id, pdf, "contract_seal",
                      {"amount": amount, "purpose": "合同"})
        _decide(org.bob, req)
        (to_legal if needs_legal else to_custodian).add(req["id"])
    assert {t["request_id"] for t in org.lily.get("/api/v1/tasks").get_json()} == to_legal
    assert {t["request_id"] for t in org.carol.get("/api/v1/tasks").get_json()} == to_custodian


def test_a_new_table_changes_the_routing_of_new_requests(cast, pdf):
    in_flight = _submit(cast.alice, cast.seal_id, pdf, "contract_seal",
                        {"amount": 500_000, "purpose": "采购合同"})
    table = (CONTRACT_DIR / "contract_routing.dmn").read_text(encoding="utf-8")
    stricter = table.replace("&gt; 1000000", "&gt; 300000").replace("&lt;= 1000000",
                                                                     "&lt;= 300000")
    assert stricter.count("300000") == 2
    files = {"contract_seal.bpmn": (CONTRACT_DIR / "contract_seal.bpmn").read_bytes(),
             "contract_routing.dmn": stricter.encode()}
    resp = deploy_bytes(cast.manager, files)
    assert resp.status_code == 201, resp.get_json()
    assert (resp.get_json()["key"], resp.get_json()["version"]) == ("contract_seal", 2)
    assert deploy_bytes(cast.manager, files).status_code == 200  # identical: no new version

    new = _submit(cast.alice, cast.seal_id, pdf, "contract_seal",
                  {"amount": 500_000, "purpose": "采购合同"})
    assert new["process"] == {"key": "contract_seal", "version": 2}
    _decide(cast.bob, in_flight)
    _decide(cast.bob, new)
    # Version 2's table sends 500,000 to Legal; the request started on version 1 keeps its
    # table.
    assert [t["request_id"] for t in cast.lily.get("/api/v1/tasks").get_json()] == [new["id"]]
    assert [t["request_id"] for t in cast.carol.get("/api/v1/tasks").get_json()] == [
        in_flight["id"]]


# -- sealflow demo --------------------------------------------------------------------------

def _snapshot(app) -> dict:
    with app.app_context():
        s = db.session
        return {
            "definitions": sorted((d["key"], d["version"], d["sha256"])
                                  for d in definitions.listing(s)),
            "business_types": sorted((bt.key, bt.name, bt.process_key)
                                     for bt in definitions.business_types(s)),
            "groups": sorted(tuple(r) for r in s.execute(select(Group.key, Group.name))),
            "members": sorted(tuple(r) for r in s.execute(
                select(User.name, Group.key).join(Membership, Membership.user_id == User.id)
                .join(Group, Group.id == Membership.group_id))),
            "seals": sorted(tuple(r) for r in s.execute(select(Seal.name, Seal.type))),
            "audit": s.execute(select(func.count()).select_from(AuditEvent)).scalar(),
        }


def test_demo_deploys_every_shipped_flow_and_maps_the_business_types(bare_app):
    app = bare_app
    first = app.test_cli_runner().invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "alice" in first.output and "sealflow-demo" in first.output
    # The log-in address is the base URL's (TestConfig: http://localhost), not a fixed :5000.
    assert "Log in at http://localhost/login with:" in first.output
    before = _snapshot(app)
    assert [(k, v) for k, v, _ in before["definitions"]] == [
        (key, 1) for key in sorted(SHIPPED)]
    assert before["business_types"] == [
        ("contract", "合同用印", "contract_seal"), ("finance", "财务用印", "finance_seal"),
        ("hr", "人事证明用印", "hr_certificate"), ("lending", "印章外借", "seal_lending"),
        ("official", "公文用印", "official_document"),
        ("seal_change", "印章变更", "seal_change"), ("seal_make", "制章申请", "seal_make"),
        ("seal_resume", "印章启用", "seal_resume"), ("seal_revoke", "证书吊销", "seal_revoke"),
        ("seal_void", "印章作废", "seal_void")]
    # Every lane that names a group names one the demo made, and someone is in it.
    with app.app_context():
        groups = dict(before["groups"])
        for key in SHIPPED:
            for element, meta in definitions.latest(db.session, key).tasks.items():
                if not (meta["assignee"] or meta["candidate_users"] or meta["candidate_groups"]):
                    assert meta["lane"] in groups.values(), (key, element)
    staffed = {g for _, g in before["members"]}
    assert {"legal", "admin_office", "leaders", "finance", "finance_director", "hr"} <= staffed

    again = app.test_cli_runner().invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert _snapshot(app) == before
