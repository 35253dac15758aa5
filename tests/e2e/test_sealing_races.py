"""What happens to a seal or a request while the job signs counts: the result is recorded only
for a request still authorized and a seal still active and valid, under the request's lock.

The job's three steps (lease, sign, record) are run by hand, or the real job is paused inside
the real signer, and the seal is suspended, revoked or expired, or the request withdrawn, in
between."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import signer
from app.context import env
from app.extensions import db
from app.jobs import runner, seal_grant
from processes.db import unit_of_work
from processes.models import GrantStatus, Request, RequestStatus, Seal, SigningGrant
from processes.requests import grant_leases, sealing
from processes.seal_models import SealUsage
from tests.conftest import approve, submit


@pytest.fixture
def held(app):
    """Jobs left to the worker, so the test runs the job's steps itself."""
    runner(app).mode = "external"
    return app


def _authorized(org, pdf) -> int:
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    approve(org.bob)
    approve(org.carol)
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "authorized"
    return rid


def _grant(app, request_id: int) -> SigningGrant:
    with app.app_context():
        grant = db.session.execute(select(SigningGrant).where(
            SigningGrant.request_id == request_id)).scalar_one()
        db.session.expunge(grant)
        return grant


def _signed(app, request_id: int) -> tuple[grant_leases.Lease, sealing.Sealed]:
    """The job's first two steps: lease the grant and sign (the PDF is sealed in memory)."""
    grant_id = _grant(app, request_id).id
    with app.app_context():
        with unit_of_work(db.session):
            lease = grant_leases.take_lease(db.session, grant_id, lease_seconds=60)
        with unit_of_work(db.session, write=False):
            sealed = sealing.sign(db.session, env(), lease)
    return lease, sealed


def _record(app, lease: grant_leases.Lease, sealed: sealing.Sealed) -> bool:
    with app.app_context(), unit_of_work(db.session):
        return sealing.record_sealed(db.session, env(), lease, sealed)


def _uses(app, seal_id: int) -> int:
    with app.app_context():
        return db.session.execute(select(SealUsage.used).where(
            SealUsage.seal_id == seal_id, SealUsage.period == "total")).scalar_one()


def _cli(app, *args: str) -> None:
    out = app.test_cli_runner().invoke(args=["seal", *args])
    assert out.exit_code == 0, out.output


def test_a_seal_suspended_while_the_job_signs_halts_the_request(held, org, pdf, login):
    rid = _authorized(org, pdf)
    lease, sealed = _signed(held, rid)
    # The custodian suspends the seal on its page while the PDF is being signed.
    page = login("carol").post(f"/seals/{org.seal_id}/status",
                               data={"to": "suspended", "reason": "印章遗失"})
    assert page.status_code == 302
    assert _record(held, lease, sealed) is False
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["sealed_document"]) == ("halted", None)
    assert org.alice.get(f"/api/v1/requests/{rid}/sealed").status_code == 404
    grant = _grant(held, rid)
    assert (grant.status, grant.lease_until, grant.sealed_document_id) == (
        GrantStatus.pending, None, None)
    assert _uses(held, org.seal_id) == 1  # the use stays reserved for when it goes on
    assert runner(held).sweep() == 0

    # It goes on when the seal resumes (here by the administrator's command line).
    _cli(held, "resume", str(org.seal_id), "--reason", "已找回")
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "authorized"
    assert runner(held).sweep() == 1
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "sealed"
    assert _uses(held, org.seal_id) == 1


@pytest.mark.parametrize("resumed", [False, True])
def test_a_request_withdrawn_while_the_job_signs_is_not_sealed(held, org, pdf, resumed):
    rid = _authorized(org, pdf)
    lease, sealed = _signed(held, rid)
    _cli(held, "suspend", str(org.seal_id), "--reason", "盘点")
    withdrawn = org.alice.post(f"/api/v1/requests/{rid}/withdraw", json={"reason": "不要了"})
    assert withdrawn.status_code == 200, withdrawn.get_json()
    if resumed:  # the seal is active again by the time the job records its result
        _cli(held, "resume", str(org.seal_id), "--reason", "盘点完毕")
    assert _record(held, lease, sealed) is False
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["sealed_document"]) == ("withdrawn", None)
    grant = _grant(held, rid)
    assert grant.status == GrantStatus.failed and grant.sealed_document_id is None
    assert _uses(held, org.seal_id) == 0  # the reserved use is given back
    assert runner(held).sweep() == 0  # and nothing signs it again


def test_a_seal_whose_certificate_expires_while_the_job_signs_fails_the_request(
        held, org, pdf, monkeypatch):
    rid = _authorized(org, pdf)
    lease, sealed = _signed(held, rid)
    with held.app_context():
        not_after = signer.certificate_from_pem(
            db.session.get(Seal, org.seal_id).cert_pem).not_valid_after_utc
    # The certificate runs out between signing and recording (before the daily expiry job).
    monkeypatch.setattr(sealing, "utcnow", lambda: not_after + timedelta(seconds=1))
    assert _record(held, lease, sealed) is False
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["sealed_document"]) == ("failed", None)
    assert "expired" in body["failure"]
    assert _grant(held, rid).status == GrantStatus.failed
    assert _uses(held, org.seal_id) == 0


def test_a_seal_revoked_while_the_job_signs_fails_the_request(held, org, pdf):
    rid = _authorized(org, pdf)
    lease, sealed = _signed(held, rid)
    _cli(held, "revoke", str(org.seal_id), "--reason", "私钥泄露")
    assert _record(held, lease, sealed) is False
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["sealed_document"]) == ("failed", None)
    assert "私钥泄露" in body["failure"]
    assert _uses(held, org.seal_id) == 0


def test_a_job_that_finds_the_seal_suspended_before_it_signs_leaves_the_request_halted(
        held, org, pdf):
    """The suspension lands after the job picked the grant and before it leased it: the job
    does not fail the request (it was halted, and goes on at resume)."""
    rid = _authorized(org, pdf)
    grant_id = _grant(held, rid).id
    _cli(held, "suspend", str(org.seal_id), "--reason", "盘点")
    with held.app_context():
        assert seal_grant(db.session, env(), grant_id) is False
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "halted"
    assert _grant(held, rid).status == GrantStatus.pending
    _cli(held, "resume", str(org.seal_id), "--reason", "盘点完毕")
    assert runner(held).sweep() == 1
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "sealed"


def test_the_real_job_paused_inside_the_signer_does_not_seal_for_a_suspended_seal(
        held, org, pdf, monkeypatch, login):
    """The job runs in its own thread and stops inside the real signer until the custodian has
    suspended the seal on its page."""
    rid = _authorized(org, pdf)
    grant_id = _grant(held, rid).id
    signing, suspended = threading.Event(), threading.Event()
    real_seal_pdf = signer.seal_pdf

    def seal_pdf_after_the_suspension(*args, **kwargs):
        signing.set()
        assert suspended.wait(timeout=60)
        return real_seal_pdf(*args, **kwargs)

    monkeypatch.setattr(signer, "seal_pdf", seal_pdf_after_the_suspension)
    outcome: list[bool] = []

    def job() -> None:
        with held.app_context():
            try:
                outcome.append(seal_grant(db.session, env(), grant_id))
            finally:
                db.session.remove()

    worker = threading.Thread(target=job)
    worker.start()
    try:
        assert signing.wait(timeout=60)
        page = login("carol").post(f"/seals/{org.seal_id}/status",
                                   data={"to": "suspended", "reason": "印章遗失"})
        assert page.status_code == 302
    finally:
        suspended.set()
        worker.join(timeout=120)
    assert outcome == [False]
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["sealed_document"]) == ("halted", None)
    with held.app_context():
        assert db.session.get(Request, rid).sealed_document_id is None


def test_a_seal_resumed_before_a_halted_job_records_does_not_strand_the_request(held, org, pdf):
    """The job found the seal suspended; by the time it records that, the seal is active
    again: the request must not be left halted (no resume would ever wake it)."""
    rid = _authorized(org, pdf)
    grant_id = _grant(held, rid).id
    with held.app_context():
        with unit_of_work(db.session):
            lease = grant_leases.take_lease(db.session, grant_id, lease_seconds=60)
    _cli(held, "suspend", str(org.seal_id), "--reason", "盘点")
    with held.app_context(), pytest.raises(sealing.SealHalted):
        with unit_of_work(db.session, write=False):
            sealing.sign(db.session, env(), lease)
    _cli(held, "resume", str(org.seal_id), "--reason", "盘点完毕")
    with held.app_context(), unit_of_work(db.session):
        sealing.record_halt(db.session, lease)
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "authorized"
    assert runner(held).sweep() == 1
    assert org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "sealed"


def test_a_halted_request_withdrawn_gives_up_its_grant_and_stays_withdrawn(held, org, pdf):
    rid = _authorized(org, pdf)
    _cli(held, "suspend", str(org.seal_id), "--reason", "盘点")
    assert org.alice.post(f"/api/v1/requests/{rid}/withdraw",
                          json={"reason": "不要了"}).status_code == 200
    _cli(held, "resume", str(org.seal_id), "--reason", "盘点完毕")
    assert runner(held).sweep() == 1  # the job finds the request withdrawn
    body = org.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert (body["status"], body["failure"], body["sealed_document"]) == (
        "withdrawn", None, None)
    assert _grant(held, rid).status == GrantStatus.failed
    assert _uses(held, org.seal_id) == 0


def test_recording_sees_the_request_as_it_stands_even_in_the_session_that_signed(held, org,
                                                                                 pdf):
    """The job signs and records in one session, which may still hold the request it read to
    sign: recording reads the request afresh under its lock, not that copy."""
    rid = _authorized(org, pdf)
    grant_id = _grant(held, rid).id
    with held.app_context():
        with unit_of_work(db.session):
            lease = grant_leases.take_lease(db.session, grant_id, lease_seconds=60)
        with unit_of_work(db.session, write=False):
            sealed = sealing.sign(db.session, env(), lease)
            held_copy = db.session.get(Request, rid)  # kept: it stays in the identity map
        with db.engine.begin() as other:  # another process withdraws it meanwhile
            other.execute(update(Request).where(Request.id == rid).values(
                status=RequestStatus.withdrawn))
        with unit_of_work(db.session):
            assert sealing.record_sealed(db.session, env(), lease, sealed) is False
        assert held_copy.status == RequestStatus.withdrawn
    assert _grant(held, rid).status == GrantStatus.failed
