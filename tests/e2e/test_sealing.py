"""Sealing after the authorized end: the approved bytes only, once only, and jobs that recover."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.context import env
from app.extensions import db
from app.jobs import runner, seal_grant
from processes import documents
from processes.db import unit_of_work
from processes.models import Document, GrantStatus, Request, SigningGrant, utcnow
from processes.requests import grant_leases, sealing
from tests.conftest import approve, make_pdf, submit
from tests.pdfcheck import assert_sealed


@pytest.fixture
def held(app):
    """Jobs left to the worker (SEALFLOW_JOB_MODE=external), so tests can act in between."""
    runner(app).mode = "external"
    return app


def _authorize(org, pdf) -> int:
    req = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    assert org.alice.get(f"/api/v1/requests/{req['id']}").get_json()["status"] == "authorized"
    return req["id"]


def _grant(request_id: int) -> SigningGrant:
    return db.session.execute(
        select(SigningGrant).where(SigningGrant.request_id == request_id)).scalar_one()


def test_the_grant_is_written_with_the_authorized_end(held, org, pdf):
    request_id = _authorize(org, pdf)
    with held.app_context():
        grant = _grant(request_id)
        assert grant.status == GrantStatus.pending
        req = db.session.get(Request, request_id)
        assert grant.document_sha256 == req.document.sha256
        assert [(a["element"], a["by"]) for a in grant.approvals] == [
            ("dept_head_approve", "bob"), ("custodian_approve", "carol")]


def test_a_document_changed_on_disk_after_approval_is_not_sealed(held, org, pdf):
    request_id = _authorize(org, pdf)
    with held.app_context():
        req = db.session.get(Request, request_id)
        path = documents.path_for(env(), req.document.sha256)
        path.write_bytes(make_pdf(text="Contract 2026-001 amount 9999999"))
        grant_id = _grant(request_id).id
        db.session.rollback()
        assert seal_grant(db.session, env(), grant_id) is False
    body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
    assert body["status"] == "failed"
    assert "not the approved document" in body["failure"]
    assert body["sealed_document"] is None
    assert org.alice.get(f"/api/v1/requests/{request_id}/sealed").status_code == 404


def test_a_request_pointed_at_other_bytes_is_not_sealed(held, org, pdf):
    request_id = _authorize(org, pdf)
    with held.app_context():
        with unit_of_work(db.session):
            other = documents.store(db.session, env(), make_pdf(text="something else"))
            db.session.get(Request, request_id).document_id = other.id
        grant_id = _grant(request_id).id
        db.session.rollback()
        assert seal_grant(db.session, env(), grant_id) is False
    body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
    assert body["status"] == "failed"
    assert "changed after it was approved" in body["failure"]


def test_a_grant_seals_once(held, org, pdf, trust_roots):
    request_id = _authorize(org, pdf)
    with held.app_context():
        grant_id = _grant(request_id).id
        db.session.rollback()
        assert seal_grant(db.session, env(), grant_id) is True
        assert seal_grant(db.session, env(), grant_id) is False
        # Even a forged expired lease cannot make it seal again.
        with unit_of_work(db.session):
            g = db.session.get(SigningGrant, grant_id)
            g.lease_until = utcnow() - timedelta(hours=1)
        assert seal_grant(db.session, env(), grant_id) is False
        docs = db.session.execute(select(func.count()).select_from(Document)).scalar()
        assert docs == 2  # the submitted PDF and one sealed PDF
    resp = org.alice.get(f"/api/v1/requests/{request_id}/sealed")
    assert_sealed(resp.data, trust_roots)
    resp.close()


def test_a_result_from_a_worker_whose_lease_was_taken_over_is_dropped(held, org, pdf):
    request_id = _authorize(org, pdf)
    with held.app_context():
        grant_id = _grant(request_id).id
        db.session.rollback()
        with unit_of_work(db.session):
            slow = grant_leases.take_lease(db.session, grant_id, lease_seconds=60)
        with unit_of_work(db.session):
            assert grant_leases.take_lease(db.session, grant_id, lease_seconds=60) is None
            db.session.get(SigningGrant, grant_id).lease_until = utcnow() - timedelta(seconds=1)
        with unit_of_work(db.session):
            fresh = grant_leases.take_lease(db.session, grant_id, lease_seconds=60)
        assert fresh is not None and fresh.attempt == slow.attempt + 1
        with unit_of_work(db.session, write=False):
            sealed = sealing.sign(db.session, env(), slow)
        with unit_of_work(db.session):
            assert sealing.record_sealed(db.session, env(), slow, sealed) is False
        with unit_of_work(db.session):
            assert sealing.record_sealed(db.session, env(), fresh, sealed) is True
    assert org.alice.get(f"/api/v1/requests/{request_id}").get_json()["status"] == "sealed"


def test_the_sweep_seals_grants_whose_job_was_lost(held, org, pdf):
    first = _authorize(org, pdf)
    assert runner(held).sweep() == 1
    assert org.alice.get(f"/api/v1/requests/{first}").get_json()["status"] == "sealed"
    assert runner(held).sweep() == 0


def test_thread_mode_seals_in_the_background(app, org, pdf):
    runner(app).mode = "thread"
    req = submit(org.alice, org.seal_id, pdf).get_json()
    approve(org.bob)
    approve(org.carol)
    runner(app).shutdown()  # waits for the background job to finish
    request_id = req["id"]
    assert org.alice.get(f"/api/v1/requests/{request_id}").get_json()["status"] == "sealed"
