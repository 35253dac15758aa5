"""The seal changes after a request was authorized and before its job signs (the grant waits
for a worker): voided, revoked or expired, the grant fails, its reserved use is given back,
the request says why and nothing is signed; suspended, the request is halted holding its grant
and its use, and is sealed once when the seal resumes.

(tests/e2e/test_sealing_races.py covers the same changes *while* the job signs.)"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

import signer
from app.extensions import db
from app.jobs import runner
from processes.db import unit_of_work
from processes.models import AuditEvent, Document, GrantStatus, Seal, SealStatus, SigningGrant
from processes.people import directory
from processes.requests import sealing
from processes.seals import expiry
from tests.conftest import approve, deploy, sealed_bytes, submit

BPMN = Path(__file__).resolve().parents[2] / "bpmn"


@pytest.fixture
def office(app, org, api):
    """The contract cast, plus the shipped lifecycle flows and the people they route to
    (olivia of 办公室, leo the leader); the seal may be used once in all, and sealing jobs
    are left to the worker (its sweep is run by the test)."""
    for key in ("seal_resume", "seal_void", "seal_revoke"):
        assert deploy(org.seal_admin, BPMN / key / f"{key}.bpmn").status_code == 201
    org.olivia = api("olivia", groups=["admin_office"])
    org.leo = api("leo", groups=["leaders"])
    with app.app_context(), unit_of_work(db.session):
        directory.add_group(db.session, "admin_office", name="办公室")
        directory.add_group(db.session, "leaders", name="分管领导")
    _cli(app, "policy", str(org.seal_id), "--max-uses", "1")
    runner(app).mode = "external"
    return org


def _cli(app, *args: str) -> None:
    out = app.test_cli_runner().invoke(args=["seal", *args])
    assert out.exit_code == 0, out.output


def _authorized(org, pdf) -> int:
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    approve(org.bob)
    approve(org.carol)
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "authorized"
    assert _uses(org) == {"total": 1, "month": 1}  # reserved with the grant
    return rid


def _uses(org) -> dict[str, int]:
    """The seal's counters as its custodian sees them on the usage log."""
    counters = org.carol.get(f"/api/v1/seals/{org.seal_id}/usage").get_json()["counters"]
    return {"total": counters.pop("total"), "month": sum(counters.values())}


def _grant(app, request_id: int) -> SigningGrant:
    with app.app_context():
        grant = db.session.execute(select(SigningGrant).where(
            SigningGrant.request_id == request_id)).scalar_one()
        db.session.expunge(grant)
        return grant


def _stored(app) -> tuple[int, int, int]:
    """Document rows, document files, `request.sealed` events."""
    with app.app_context():
        rows = db.session.execute(select(func.count(Document.id))).scalar_one()
        sealed = db.session.execute(select(func.count(AuditEvent.seq)).where(
            AuditEvent.action == "request.sealed")).scalar_one()
    files = len(list((Path(app.config["DATA_DIR"]) / "documents").rglob("*.pdf")))
    return rows, files, sealed


def _change(org, process: str, reason: str) -> int:
    """Filed by sam, a seal administrator (carol, the custodian, confirms a voiding)."""
    resp = org.seal_admin.post("/api/v1/requests", data={
        "process": process, "seal": str(org.seal_id), "data": json.dumps({"reason": reason})},
        content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["id"]


def _void_through_its_flow(app, org) -> str:
    change = _change(org, "seal_void", "更换新章")
    approve(org.carol)
    approve(org.olivia)
    assert org.seal_admin.get(f"/api/v1/requests/{change}").get_json()["status"] == "completed"
    return f"request #{change}: 更换新章"


def _revoke_through_its_flow(app, org) -> str:
    change = _change(org, "seal_revoke", "私钥疑似泄露")
    approve(org.olivia)
    approve(org.leo)
    assert org.seal_admin.get(f"/api/v1/requests/{change}").get_json()["status"] == "completed"
    return f"request #{change}: 私钥疑似泄露"


def _revoke_in_an_emergency(app, org) -> str:
    _cli(app, "revoke", str(org.seal_id), "--reason", "密钥介质丢失")
    return "密钥介质丢失"


@pytest.mark.parametrize(("change", "status"), [
    (_void_through_its_flow, SealStatus.voided),
    (_revoke_through_its_flow, SealStatus.revoked),
    (_revoke_in_an_emergency, SealStatus.revoked)])
def test_a_seal_voided_or_revoked_after_the_authorization_is_not_used(
        app, office, pdf, change, status):
    rid = _authorized(office, pdf)
    # The grant's job has not run (it waits for a worker). The lifecycle flow's change is made
    # by the web right after its commit, as in job mode thread.
    runner(app).mode = "inline"
    reason = change(app, office)
    with app.app_context():
        assert db.session.get(Seal, office.seal_id).status == status

    assert runner(app).sweep() == 0  # the worker comes round: the grant is no longer due
    body = office.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["sealed_document"]) == ("failed", None)
    assert body["failure"] == f"seal {office.seal_id} was {status.value}: {reason}"
    assert office.alice.get(f"/api/v1/requests/{rid}/sealed").status_code == 404
    grant = _grant(app, rid)
    assert (grant.status, grant.sealed_document_id) == (GrantStatus.failed, None)
    assert _uses(office) == {"total": 0, "month": 0}  # the reserved use is given back
    assert _stored(app) == (1, 1, 0)  # the original alone: nothing was signed


def _not_after(app, seal_id: int):
    with app.app_context():
        return signer.certificate_from_pem(
            db.session.get(Seal, seal_id).cert_pem).not_valid_after_utc


def test_a_seal_whose_certificate_expired_after_the_authorization_is_not_used(
        app, office, pdf, monkeypatch):
    """The certificate runs out before the worker comes round, and before the scheduler's
    maintenance has marked the seal expired: the job's own check refuses to sign."""
    rid = _authorized(office, pdf)
    after = _not_after(app, office.seal_id) + timedelta(seconds=1)
    monkeypatch.setattr(sealing, "utcnow", lambda: after)
    assert runner(app).sweep() == 1
    body = office.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["sealed_document"]) == ("failed", None)
    assert f"the certificate of seal {office.seal_id} is not valid now" in body["failure"]
    assert "expired" in body["failure"]
    assert _grant(app, rid).status == GrantStatus.failed
    assert _uses(office) == {"total": 0, "month": 0}
    assert _stored(app) == (1, 1, 0)
    assert runner(app).sweep() == 0


def test_a_seal_the_maintenance_expired_after_the_authorization_is_not_used(
        app, office, pdf, monkeypatch):
    """The scheduler's PKI maintenance marks the seal expired first: the request fails with
    it, and the worker finds nothing to sign."""
    rid = _authorized(office, pdf)
    after = _not_after(app, office.seal_id) + timedelta(seconds=1)
    monkeypatch.setattr(expiry, "utcnow", lambda: after)
    monkeypatch.setattr(sealing, "utcnow", lambda: after)
    runner(app).maintain_pki()
    with app.app_context():
        assert db.session.get(Seal, office.seal_id).status == SealStatus.expired
    assert runner(app).sweep() == 0
    body = office.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["sealed_document"]) == ("failed", None)
    assert body["failure"] == f"seal {office.seal_id} was expired: its certificate expired"
    assert _grant(app, rid).status == GrantStatus.failed
    assert _uses(office) == {"total": 0, "month": 0}
    assert _stored(app) == (1, 1, 0)


def test_a_seal_suspended_after_the_authorization_halts_and_seals_once_resumed(
        app, office, pdf, login):
    """The custodian suspends the seal on its page; the resume goes through its flow, which
    the worker applies; the next sweep seals the request, with the one use it reserved."""
    rid = _authorized(office, pdf)
    page = login("carol").post(f"/seals/{office.seal_id}/status",
                               data={"to": "suspended", "reason": "印章送检"})
    assert page.status_code == 302
    assert runner(app).sweep() == 0  # the worker leaves it: nothing to seal with
    body = office.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["failure"], body["sealed_document"]) == ("halted", None, None)
    grant = _grant(app, rid)
    assert (grant.status, grant.lease_until, grant.error) == (GrantStatus.pending, None, None)
    assert _uses(office) == {"total": 1, "month": 1}  # its use stays reserved
    assert _stored(app) == (1, 1, 0)

    change = _change(office, "seal_resume", "检验合格")
    approve(office.olivia)
    approve(office.leo)
    assert runner(app).sweep() == 1  # the worker makes the change: the seal is active again
    assert office.seal_admin.get(f"/api/v1/requests/{change}").get_json()["status"] == "completed"
    assert office.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "authorized"
    assert runner(app).sweep() == 1  # and then seals
    body = office.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert body["status"] == "sealed"
    assert sealed_bytes(office, rid).startswith(pdf)
    grant = _grant(app, rid)
    assert (grant.status, grant.attempts) == (GrantStatus.consumed, 1)
    assert _uses(office) == {"total": 1, "month": 1}  # counted once, not again at resume
    assert _stored(app) == (2, 2, 1)  # one sealed PDF
    assert runner(app).sweep() == 0
    # The quota of one is used up: the next request is refused at once.
    refused = submit(office.alice, office.seal_id, pdf)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["problems"][0]["rule"] == "max_uses"
