"""Making, changing, resuming, voiding and revoking a seal are themselves BPMN flows (shipped
under bpmn/): the organisation changes who approves them by deploying a new flow, never code."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cryptography import x509

from app.extensions import db
from processes.flows import definitions
from processes.models import Seal, SealStatus
from processes.seal_models import SealTransition
from tests.conftest import approve, deploy, only_task, submit
from tests.pdfcheck import assert_sealed

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


@pytest.fixture
def office(org, api, make_user):
    for key in ("seal_make", "seal_change", "seal_resume", "seal_void", "seal_revoke"):
        assert deploy(org.seal_admin, BPMN / key / f"{key}.bpmn").status_code == 201
    org.olivia = api("olivia", groups=["admin_office"])
    org.leo = api("leo", groups=["leaders"])
    with org.alice.client.application.app_context():
        from processes.db import unit_of_work
        from processes.people import directory
        with unit_of_work(db.session):
            directory.add_group(db.session, "admin_office", name="办公室")
            directory.add_group(db.session, "leaders", name="分管领导")
            # carol, who keeps the seal, asks for a new one; bob heads her department.
            directory.add_user(db.session, "carol", groups=["sales"])
    return org


def _make_request(org, pdf, **data):
    form = {"process": "seal_make",
            "data": json.dumps({"seal_name": "测试科技有限公司财务专用章",
                                "new_seal_type": "财务专用章", "custodians": "carol",
                                "reason": "新设财务部", **data})}
    return org.carol.post("/api/v1/requests", data=form, content_type="multipart/form-data")


def test_a_seal_is_made_through_its_flow_and_then_seals(app, office, pdf, trust_roots):
    resp = _make_request(office, pdf)
    assert resp.status_code == 201, resp.get_json()
    req = resp.get_json()
    assert req["seal"] is None
    approve(office.bob)
    approve(office.olivia)
    approve(office.leo)
    body = office.carol.get(f"/api/v1/requests/{req['id']}").get_json()
    assert body["status"] == "completed"
    seal_id = body["seal"]
    with app.app_context():
        seal = db.session.get(Seal, seal_id)
        assert (seal.name, seal.type, seal.status) == ("测试科技有限公司财务专用章", "财务专用章",
                                                       SealStatus.active)
        assert [u.name for u in seal.custodians] == ["carol"]
        assert b"ENCRYPTED PRIVATE KEY" in seal.key_pem
        made = db.session.query(SealTransition).filter_by(seal_id=seal_id).one()
        assert made.request_id == req["id"] and "新设财务部" in made.reason
    # The new seal is used like any other.
    used = submit(office.alice, seal_id, pdf).get_json()
    approve(office.bob)
    approve(office.carol)
    sealed = office.alice.get(f"/api/v1/requests/{used['id']}/sealed")
    assert_sealed(sealed.data, trust_roots)
    sealed.close()


def test_a_make_request_checks_its_data_and_names_no_seal(office, pdf):
    bad = _make_request(office, pdf, custodians="nobody")
    assert bad.status_code == 422
    assert bad.get_json()["error"]["problems"][0]["field"] == "custodians"
    with_seal = office.carol.post("/api/v1/requests", data={
        "process": "seal_make", "seal": str(office.seal_id),
        "data": json.dumps({"seal_name": "x", "new_seal_type": "公章", "custodians": "carol",
                            "reason": "r"})}, content_type="multipart/form-data")
    assert with_seal.status_code == 422


def _post_change(office, pdf, process: str, reason: str, **data):
    """Filed by sam, a seal administrator: carol, the custodian, confirms it on her own."""
    form = {"process": process, "seal": str(office.seal_id),
            "data": json.dumps({"reason": reason, **data})}
    return office.seal_admin.post("/api/v1/requests", data=form, content_type="multipart/form-data")


def _change(office, pdf, process: str, reason: str, **data) -> dict:
    resp = _post_change(office, pdf, process, reason, **data)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def _completed(office, change: dict) -> None:
    assert only_task(office.carol)["element_id"] == "custodian_confirm"
    approve(office.carol)
    approve(office.olivia)
    body = office.seal_admin.get(f"/api/v1/requests/{change['id']}").get_json()
    assert body["status"] == "completed", body


def test_a_certificate_renewed_through_its_flow_seals_with_the_new_one(
        app, office, pdf, trust_roots):
    with app.app_context():
        old = db.session.get(Seal, office.seal_id)
        old_serial, old_key = old.certificate_serial, old.key_pem
        old_cert = x509.load_pem_x509_certificate(old.cert_pem)
    _completed(office, _change(office, pdf, "seal_change", "证书即将到期", change="renew"))
    with app.app_context():
        seal = db.session.get(Seal, office.seal_id)
        new_cert = x509.load_pem_x509_certificate(seal.cert_pem)
        assert seal.certificate_serial != old_serial and seal.key_pem == old_key
        assert new_cert.public_key().public_numbers() == old_cert.public_key().public_numbers()
        assert new_cert.not_valid_after_utc > old_cert.not_valid_after_utc or \
            new_cert.not_valid_before_utc > old_cert.not_valid_before_utc
        step = db.session.query(SealTransition).filter_by(seal_id=office.seal_id).one()
        assert (step.from_status, step.to_status) == (SealStatus.active, SealStatus.active)
        assert step.reason == f"request #{step.request_id}: certificate renewed: 证书即将到期"
    used = submit(office.alice, office.seal_id, pdf).get_json()
    approve(office.bob)
    approve(office.carol)
    sealed = office.alice.get(f"/api/v1/requests/{used['id']}/sealed")
    assert_sealed(sealed.data, trust_roots)
    signed_by = {s["certificate_serial"] for s in office.alice.post(
        "/api/v1/verify", data={"file": (io.BytesIO(sealed.data), "s.pdf")},
        content_type="multipart/form-data").get_json()["signatures"]}
    sealed.close()
    assert signed_by == {format(new_cert.serial_number, "x")}


def test_custodians_change_through_its_flow(app, office, pdf, make_user):
    make_user("dora")
    bad = _post_change(office, pdf, "seal_change", "人员调动", change="custodians",
                       custodians="nobody")
    assert bad.status_code == 422 and bad.get_json()["error"]["problems"][0]["field"] == \
        "custodians"
    missing = _post_change(office, pdf, "seal_change", "人员调动", change="custodians")
    assert missing.status_code == 422
    unknown = _post_change(office, pdf, "seal_change", "x", change="colour")
    assert unknown.status_code == 422
    # The present custodian (carol) confirms handing the seal to dora.
    _completed(office, _change(office, pdf, "seal_change", "人员调动", change="custodians",
                               custodians="dora"))
    with app.app_context():
        assert [u.name for u in db.session.get(Seal, office.seal_id).custodians] == ["dora"]


def test_a_new_appearance_through_its_flow(app, office, pdf):
    with app.app_context():
        before = db.session.get(Seal, office.seal_id).appearance_pdf
    _completed(office, _change(office, pdf, "seal_change", "增加印章编号", change="appearance",
                               serial="1101020012345"))
    with app.app_context():
        after = db.session.get(Seal, office.seal_id).appearance_pdf
    assert after != before and after.startswith(b"%PDF")


def test_voiding_through_its_flow_fails_the_seals_requests_in_flight(app, office, pdf):
    waiting = submit(office.alice, office.seal_id, pdf).get_json()
    change = _change(office, pdf, "seal_void", "更换新章")
    assert only_task(office.carol)["element_id"] == "custodian_confirm"
    approve(office.carol)
    approve(office.olivia)
    assert office.seal_admin.get(f"/api/v1/requests/{change['id']}").get_json()["status"] == \
        "completed"
    with app.app_context():
        assert db.session.get(Seal, office.seal_id).status == SealStatus.voided
    failed = office.alice.get(f"/api/v1/requests/{waiting['id']}").get_json()
    assert failed["status"] == "failed" and "更换新章" in failed["failure"]


def test_revoking_through_its_flow_puts_the_certificate_on_the_crl(app, office, pdf, client):
    change = _change(office, pdf, "seal_revoke", "私钥疑似泄露")
    approve(office.olivia)
    approve(office.leo)
    assert office.seal_admin.get(f"/api/v1/requests/{change['id']}").get_json()["status"] == \
        "completed"
    crl = x509.load_der_x509_crl(client.get("/pki/crl").data)
    with app.app_context():
        seal = db.session.get(Seal, office.seal_id)
        serial = x509.load_pem_x509_certificate(seal.cert_pem).serial_number
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None


def test_the_new_request_page_offers_no_seal_for_a_make_flow(office, app, make_user, login):
    page = login("sam").get("/requests/new?process=seal_make").text  # a seal admin
    assert "A new seal is made once approved" in page and 'name="seal"' not in page
    # A sales clerk is not offered the flow at all.
    alice = login("alice")
    assert "A new seal is made once approved" not in alice.get(
        "/requests/new?process=seal_make").text
    assert 'name="seal"' in alice.get("/requests/new?process=contract_seal").text


def test_resuming_through_its_flow_from_the_seal_page(app, office, pdf, login):
    """The custodian suspends on the seal page, which then links the resume flow by its
    business type; the office and the leader approve; the seal is active again."""
    with app.app_context():
        from processes.db import unit_of_work
        with unit_of_work(db.session):
            definitions.add_business_type(db.session, "seal_resume", "seal_resume", "印章启用")
    carol = login("carol")
    carol.post(f"/seals/{office.seal_id}/status", data={"to": "suspended", "reason": "送检"})
    page = carol.get(f"/seals/{office.seal_id}").text
    assert f"/requests/new?seal={office.seal_id}&amp;business_type=seal_resume" in page
    change = _change(office, pdf, "seal_resume", "检验合格")
    assert only_task(office.olivia)["element_id"] == "office_review"
    approve(office.olivia)
    assert only_task(office.leo)["element_id"] == "leader_approve"
    approve(office.leo)
    assert office.seal_admin.get(f"/api/v1/requests/{change['id']}").get_json()["status"] == \
        "completed"
    with app.app_context():
        assert db.session.get(Seal, office.seal_id).status == SealStatus.active
