"""Two transactions on one seal at once, in the order that deadlocks when their locks are taken
in opposite orders: a sealing job that fails (it gives its reserved use back and records why)
and an approval that reaches the authorized end of another request (it records the approval
and reserves a use). Both must finish.

On PostgreSQL the test holds the approval between its audit record (the audit chain's lock)
and its reservation (the seal's usage rows) until the failing job has given its use back; on
SQLite, whose writers take turns, the two just run at once."""

from __future__ import annotations

import threading

import pytest

from app.context import env
from app.extensions import db
from app.jobs import runner
from processes import audit_pg, documents
from processes.models import GrantStatus, Request, Seal, SealStatus, SigningGrant
from processes.seals import policy
from tests.conftest import approve, make_pdf, only_task, submit


@pytest.fixture
def held(app):
    runner(app).mode = "external"
    return app


def _status(org, rid: int) -> dict:
    return org.alice.get(f"/api/v1/requests/{rid}").get_json()


def test_a_failing_job_and_an_approval_on_the_same_seal_both_finish(held, org, pdf,
                                                                     monkeypatch):
    failing = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    approve(org.bob)
    approve(org.carol)
    other = submit(org.alice, org.seal_id, make_pdf(text="Contract 2026-002")).get_json()["id"]
    approve(org.bob)
    task = only_task(org.carol)
    with held.app_context():
        req = db.session.get(Request, failing)
        # The approved document changed on disk: its job will refuse to seal it, and fail.
        documents.path_for(env(), req.document.sha256).write_bytes(
            make_pdf(text="Contract 2026-001 amount 9999999"))
        grant_id = db.session.query(SigningGrant.id).filter_by(request_id=failing).scalar()
        postgresql = db.engine.dialect.name == "postgresql"
        db.session.rollback()

    # The approval waits, holding the audit chain's lock, until the job has taken its first
    # lock of the two: the usage rows (giving the use back) or the audit chain's.
    approval_waits, job_went_on = threading.Event(), threading.Event()
    # PostgreSQL takes the chain's lock in the statement that appends (audit_pg.send).
    real_take, real_release, real_send = policy.take_uses, policy.release, audit_pg.send
    job = threading.current_thread()

    def reserve_once_the_job_went_on(*args, **kwargs):
        approval_waits.set()
        job_went_on.wait(timeout=10)
        return real_take(*args, **kwargs)

    def release_then_go_on(*args, **kwargs):
        real_release(*args, **kwargs)
        job_went_on.set()

    def audit_send(*args, **kwargs):
        if threading.current_thread() is job:
            job_went_on.set()
        return real_send(*args, **kwargs)

    if postgresql:
        monkeypatch.setattr(policy, "take_uses", reserve_once_the_job_went_on)
        monkeypatch.setattr(policy, "release", release_then_go_on)
        monkeypatch.setattr(audit_pg, "send", audit_send)
    answer: list = []

    def last_approval() -> None:
        resp = org.carol.post(f"/api/v1/tasks/{task['id']}/complete",
                              json={"decision": "approve"})
        answer.append((resp.status_code, resp.get_json()))

    approving = threading.Thread(target=last_approval)
    approving.start()
    try:
        if postgresql:
            assert approval_waits.wait(timeout=30)
        with held.app_context():
            runner(held).run_grant(grant_id)  # the job, as the worker runs it
            db.session.remove()
    finally:
        job_went_on.set()
        approving.join(timeout=60)
    status, body = answer[0]
    assert status == 200, body
    assert _status(org, other)["status"] == "authorized"
    failed = _status(org, failing)
    assert failed["status"] == "failed", failed
    assert "not the approved document" in failed["failure"]
    with held.app_context():
        grant = db.session.get(SigningGrant, grant_id)
        assert grant.status == GrantStatus.failed
    usage = org.carol.get(f"/api/v1/seals/{org.seal_id}/usage").get_json()["counters"]
    assert usage["total"] == 1  # the failed one's use given back, the other's reserved


def test_a_seal_suspended_while_one_of_its_requests_is_approved_both_finish(
        held, org, pdf, login, monkeypatch):
    """The custodian suspends the seal on its page while bob approves one of its requests:
    either order is fine (approved then halted, or halted and the approval refused), but
    both answer, and the suspension holds."""
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    task = only_task(org.bob)
    carol = login("carol")
    with held.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
    # The approval, holding its request's lock, waits before its audit record until the
    # suspension holds the audit chain's lock.
    approval_holds_request, suspension_audits = threading.Event(), threading.Event()
    # PostgreSQL takes the chain's lock in the statement that appends (audit_pg.send).
    real_send = audit_pg.send
    suspending = threading.current_thread()

    def audit_send(*args, **kwargs):
        if threading.current_thread() is suspending:
            try:
                return real_send(*args, **kwargs)
            finally:
                suspension_audits.set()
        approval_holds_request.set()
        suspension_audits.wait(timeout=10)
        return real_send(*args, **kwargs)

    if postgresql:
        monkeypatch.setattr(audit_pg, "send", audit_send)
    answer: list = []

    def approval() -> None:
        resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                            json={"decision": "approve"})
        answer.append((resp.status_code, resp.get_json()))

    approving = threading.Thread(target=approval)
    approving.start()
    try:
        if postgresql:
            assert approval_holds_request.wait(timeout=30)
        page = carol.post(f"/seals/{org.seal_id}/status",
                          data={"to": "suspended", "reason": "印章遗失"})
    finally:
        suspension_audits.set()
        approving.join(timeout=60)
    assert page.status_code == 302
    status, body = answer[0]
    assert status in (200, 409), body
    with held.app_context():
        assert db.session.get(Seal, org.seal_id).status == SealStatus.suspended
    assert _status(org, rid)["status"] == "halted"
