"""Protective actions are quick, lifting protection is not: a custodian suspends a seal at once,
but resuming, voiding and revoking go through the lifecycle flows, or an administrator in an
emergency; a suspension an administrator made (or the command line) is lifted only by an
administrator, not by a custodian and not by a resume flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from processes.db import unit_of_work
from processes.models import AuditEvent, Seal, SealStatus, User, UserRole
from processes.seal_models import Authority, SealTransition
from tests.conftest import ApiClient, approve, deploy, submit

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


@pytest.fixture
def office(org, api, make_user):
    """The contract cast, the shipped lifecycle flows, the office and the leader who approve
    them, and an administrator, root."""
    for key in ("seal_resume", "seal_void", "seal_revoke"):
        assert deploy(org.seal_admin, BPMN / key / f"{key}.bpmn").status_code == 201
    org.olivia = api("olivia", groups=["admin_office"])
    org.leo = api("leo", groups=["leaders"])
    make_user("root", roles=["admin"])
    with org.alice.client.application.app_context(), unit_of_work(db.session):
        from processes.people import directory
        directory.add_group(db.session, "admin_office", name="办公室")
        directory.add_group(db.session, "leaders", name="分管领导")
    return org


def _status(app, seal_id: int) -> SealStatus:
    with app.app_context():
        return db.session.get(Seal, seal_id).status


def _post(client, seal_id: int, to: str, reason: str = "因故", confirm_name: str = ""):
    """``confirm_name``: the seal's name as typed to confirm voiding or revoking it."""
    return client.post(f"/seals/{seal_id}/status", data={"to": to, "reason": reason,
                                                          "confirm_name": confirm_name})


def _cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["seal", *args])


def _post_resume(who: ApiClient, seal_id: int, reason: str = "已找回"):
    return who.post("/api/v1/requests", data={
        "process": "seal_resume", "seal": str(seal_id), "data": json.dumps({"reason": reason})},
        content_type="multipart/form-data")


def _resume_request(who: ApiClient, seal_id: int, pdf: bytes, reason: str = "已找回") -> dict:
    resp = _post_resume(who, seal_id, reason)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _approved(office, req: dict) -> dict:
    """The office, then the leader, approve the resume request; the request as it ends."""
    approve(office.olivia)
    approve(office.leo)
    return office.carol.get(f"/api/v1/requests/{req['id']}").get_json()


def test_a_custodian_suspends_at_once_but_resumes_voids_and_revokes_only_through_flows(
        app, office, login):
    carol = login("carol")
    assert _post(carol, office.seal_id, "suspended", "印章遗失").status_code == 302
    assert _status(app, office.seal_id) == SealStatus.suspended
    for to, flow in (("active", "seal_resume"), ("voided", "seal_void"),
                     ("revoked", "seal_revoke")):
        refused = _post(carol, office.seal_id, to, "自行处理")
        assert refused.status_code == 403, to
        assert flow in refused.text and "administrator" in refused.text
    assert _status(app, office.seal_id) == SealStatus.suspended
    # A seal admin (not a custodian) is held to the same rule.
    seal_admin = login(office.seal_admin.user)  # sam
    assert _post(seal_admin, office.seal_id, "revoked").status_code == 403
    assert _status(app, office.seal_id) == SealStatus.suspended


def test_the_seal_page_offers_only_the_direct_actions_and_links_the_flows(app, office, login):
    carol = login("carol")
    page = carol.get(f"/seals/{office.seal_id}").text
    assert 'value="suspended"' in page
    assert 'value="revoked"' not in page and 'value="voided"' not in page
    assert "business_type" not in page  # no business types: the flows are linked by key
    assert f"/requests/new?seal={office.seal_id}&amp;process=seal_revoke" in page
    assert f"/requests/new?seal={office.seal_id}&amp;process=seal_void" in page
    _post(carol, office.seal_id, "suspended", "盘点")
    page = carol.get(f"/seals/{office.seal_id}").text
    assert 'value="active"' not in page
    assert f"/requests/new?seal={office.seal_id}&amp;process=seal_resume" in page
    # The new-request page it links to offers the suspended seal, chosen.
    form = carol.get(f"/requests/new?process=seal_resume&seal={office.seal_id}").text
    assert f'<option value="{office.seal_id}" selected>' in form
    # An administrator sees every action as a button.
    admin_page = login("root").get(f"/seals/{office.seal_id}").text
    assert all(f'value="{to}"' in admin_page for to in ("active", "voided", "revoked"))
    assert "emergency" in admin_page


def test_an_administrator_acts_directly_and_it_is_recorded_as_an_emergency(app, office, login):
    root = login("root")
    assert _post(root, office.seal_id, "suspended", "疑似泄露").status_code == 302
    assert _post(root, office.seal_id, "active", "排查完毕").status_code == 302
    assert _post(root, office.seal_id, "revoked", "确认泄露",
                 confirm_name="测试科技有限公司合同专用章").status_code == 302
    assert _status(app, office.seal_id) == SealStatus.revoked
    with app.app_context():
        steps = db.session.execute(select(SealTransition).where(
            SealTransition.seal_id == office.seal_id).order_by(SealTransition.id)).scalars()
        assert [(t.to_status, t.authority, t.reason) for t in steps] == [
            (SealStatus.suspended, Authority.admin, "疑似泄露"),
            (SealStatus.active, Authority.admin, "排查完毕"),
            (SealStatus.revoked, Authority.admin, "确认泄露")]
        events = db.session.execute(select(AuditEvent).where(
            AuditEvent.seal_id == office.seal_id, AuditEvent.action.like("seal.%"))
            .order_by(AuditEvent.seq)).scalars()
        assert [(e.action, e.actor, e.details["emergency"]) for e in events] == [
            ("seal.suspended", "root", True), ("seal.active", "root", True),
            ("seal.revoked", "root", True)]
    log = office.carol.get(f"/api/v1/seals/{office.seal_id}/usage").get_json()["lifecycle"]
    assert {(h["authority"], h["emergency"]) for h in log} == {("admin", True)}


def test_an_administrators_suspension_is_lifted_only_by_an_administrator(app, office, pdf,
                                                                         login):
    root, carol = login("root"), login("carol")
    assert _post(root, office.seal_id, "suspended", "安全审计").status_code == 302
    # Even once root is no longer an administrator, the suspension stays an administrator's.
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(delete(UserRole).where(UserRole.user_id == db.session.execute(
            select(User.id).where(User.name == "root")).scalar_one()))
    refused = _post(carol, office.seal_id, "active", "审计结束")
    assert refused.status_code == 403
    assert "suspended by an administrator" in refused.text
    page = carol.get(f"/seals/{office.seal_id}").text
    assert "only an administrator can resume it" in page and "process=seal_resume" not in page
    # A resume flow does not lift it: the request is refused when it is made.
    flow = _post_resume(office.carol, office.seal_id)
    assert flow.status_code == 403, flow.get_json()
    assert "suspended by an administrator" in flow.get_json()["error"]["message"]
    assert _status(app, office.seal_id) == SealStatus.suspended
    # An administrator lifts it.
    make_admin = _cli(app, "resume", str(office.seal_id), "--reason", "审计结束")
    assert make_admin.exit_code == 0, make_admin.output
    assert _status(app, office.seal_id) == SealStatus.active


def test_a_suspension_from_the_command_line_is_not_lifted_by_a_custodian(app, office, pdf,
                                                                         login):
    assert _cli(app, "suspend", str(office.seal_id), "--reason", "密钥轮换").exit_code == 0
    refused = _post(login("carol"), office.seal_id, "active", "轮换完毕")
    assert refused.status_code == 403 and "suspended by an administrator" in refused.text
    assert _post_resume(office.carol, office.seal_id).status_code == 403
    assert _status(app, office.seal_id) == SealStatus.suspended
    out = _cli(app, "resume", str(office.seal_id), "--reason", "轮换完毕")
    assert out.exit_code == 0 and "active" in out.output


def test_a_resume_flow_approved_after_an_administrator_suspended_the_seal_lifts_nothing(
        app, office, pdf, login):
    """Checked again where the change is made: the suspension came while the flow ran."""
    req = _resume_request(office.carol, office.seal_id, pdf)  # the seal is active still
    assert _post(login("root"), office.seal_id, "suspended", "安全审计").status_code == 302
    done = _approved(office, req)
    assert done["status"] == "failed" and "suspended by an administrator" in done["failure"]
    assert _status(app, office.seal_id) == SealStatus.suspended


def test_a_custodians_suspension_is_lifted_by_the_resume_flow_and_the_requests_go_on(
        app, office, pdf, login):
    waiting = submit(office.alice, office.seal_id, pdf).get_json()
    assert _post(login("carol"), office.seal_id, "suspended", "印章送检").status_code == 302
    assert office.alice.get(f"/api/v1/requests/{waiting['id']}").get_json()["status"] == \
        "halted"
    req = _resume_request(office.carol, office.seal_id, pdf, reason="检验合格")
    assert _status(app, office.seal_id) == SealStatus.suspended  # not before the approvals
    done = _approved(office, req)
    assert done["status"] == "completed", done
    assert _status(app, office.seal_id) == SealStatus.active
    assert office.alice.get(f"/api/v1/requests/{waiting['id']}").get_json()["status"] == \
        "running"
    approve(office.bob)
    approve(office.carol)
    assert office.alice.get(f"/api/v1/requests/{waiting['id']}").get_json()["status"] == \
        "sealed"
    with app.app_context():
        step = db.session.execute(select(SealTransition).where(
            SealTransition.seal_id == office.seal_id,
            SealTransition.to_status == SealStatus.active)).scalar_one()
        assert (step.authority, step.request_id) == (Authority.flow, req["id"])
        assert "检验合格" in step.reason


def test_a_resume_flow_for_a_seal_that_is_not_suspended_fails_with_the_reason(app, office,
                                                                             pdf):
    req = _approved(office, _resume_request(office.carol, office.seal_id, pdf))
    assert req["status"] == "failed" and "nothing to resume" in req["failure"]
    assert _status(app, office.seal_id) == SealStatus.active
