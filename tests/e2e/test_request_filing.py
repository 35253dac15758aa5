"""Filing a request in two transactions: its checks and its instance's first run read, holding
no write lock (``intake.prepare``); then its rows are written (``intake.create``). What changes
between the two and would refuse the request, or answer it otherwise, is seen under the lock."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from app.context import env
from app.extensions import db
from processes.db import is_writer, unit_of_work
from processes.models import AuditEvent, Request, Seal, SealStatus
from processes.people.directory import Identity, get_user
from processes.requests import intake
from processes.seal_models import SealFlowProof
from processes.seals import lifecycle, policy
from tests.conftest import submit
from tests.e2e.test_query_budget import transactions
from tests.holding import held_open, waiting


@pytest.fixture
def between(monkeypatch):
    """``between(change)``: run ``change()`` (its own transactions) once, after the next
    request's checks and before its writing transaction."""
    def install(change) -> None:
        real = intake.prepare
        pending = [change]

        def prepare(*args, **kwargs):
            if not pending:  # create's own call, after a change; or the change's
                return real(*args, **kwargs)
            assert not is_writer()  # the route's: no write lock held while it checks
            found = real(*args, **kwargs)
            pending.pop()()
            return found

        monkeypatch.setattr(intake, "prepare", prepare)
    return install


def _counts(app) -> tuple[int, int]:
    with app.app_context():
        made = db.session.scalar(select(func.count()).select_from(Request))
        audited = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "request.created"))
        db.session.rollback()
    return made, audited


def test_a_seal_suspended_after_the_checks_refuses_the_request(app, org, pdf, between):
    def suspend() -> None:
        with app.app_context(), unit_of_work(db.session):
            lifecycle.transition(db.session, db.session.get(Seal, org.seal_id),
                                 SealStatus.suspended, reason="印章送检",
                                 identity=Identity(get_user(db.session, "carol")))

    before = _counts(app)
    between(suspend)
    resp = submit(org.alice, org.seal_id, pdf)
    assert resp.status_code == 422, resp.get_json()
    assert "suspended" in resp.get_json()["error"]["message"]
    assert _counts(app) == before


def test_a_policy_changed_after_the_checks_is_applied(app, org, pdf, between):
    def tighten() -> None:
        with app.app_context(), unit_of_work(db.session):
            policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None,
                              max_pages=0)

    before = _counts(app)
    between(tighten)
    resp = submit(org.alice, org.seal_id, pdf)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["problems"][0]["rule"] == "max_pages"
    assert _counts(app) == before


def test_the_same_idempotency_key_filed_after_the_checks_answers_that_request(
        app, org, pdf, between):
    made: list[int] = []

    def file_the_same() -> None:
        with app.app_context(), unit_of_work(db.session):
            new = intake.NewRequest(seal_id=org.seal_id, document=pdf, filename="c.pdf",
                                    process="contract_seal",
                                    data={"amount": 1, "purpose": "采购合同"},
                                    idempotency_key="order-7")
            alice = Identity(get_user(db.session, "alice"))
            made.append(intake.create(db.session, env(), alice, new).id)

    before = _counts(app)
    between(file_the_same)
    resp = submit(org.alice, org.seal_id, pdf, headers={"Idempotency-Key": "order-7"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["id"] == made[0]
    assert _counts(app) == (before[0] + 1, before[1] + 1)


def test_a_change_that_refuses_nothing_files_the_request_as_checked(app, org, pdf, between):
    """Another request filed meanwhile changes nothing this one depends on."""
    def file_another() -> None:
        assert submit(org.alice, org.seal_id, pdf).status_code == 201

    between(file_another)
    resp = submit(org.alice, org.seal_id, pdf)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "running" and body["history"] == []
    assert [t["element_id"] for t in body["tasks"]] == \
        [t["element_id"] for t in org.alice.get(f"/api/v1/requests/{body['id']}")
         .get_json()["tasks"]]


def test_a_proof_not_kept_is_proved_by_the_checks_without_writing(app, org, pdf):
    """The seal's demands proved over the flow are kept when the policy is set; one missing
    (dropped here) is proved again by the request's checks, which write nothing: a reading
    transaction that wrote would take the write lock out of turn."""
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None,
                          demands=[{"kind": "custodian"}])
        db.session.execute(delete(SealFlowProof))
    with transactions(app) as seen:
        resp = submit(org.alice, org.seal_id, pdf)
    assert resp.status_code == 201, resp.get_json()
    reading = seen[:seen.index("BEGIN (writer)")]
    assert [s for s in reading if s.split()[0] in ("INSERT", "UPDATE", "DELETE")] == []


def test_two_filings_with_one_idempotency_key_at_once_make_one_request(app, org, pdf):
    """The first is still in its writing transaction when the second comes to write: the
    second waits for it (PostgreSQL: a lock on the key; SQLite: the write lock), then answers
    the request the first made (not a failure on the key's unique row)."""
    def file_first(session) -> int:
        new = intake.NewRequest(seal_id=org.seal_id, document=pdf, filename="c.pdf",
                                process="contract_seal", data={"amount": 1, "purpose": "采购合同"},
                                idempotency_key="order-9")
        return intake.create(session, env(), Identity(get_user(session, "alice")), new).id

    before = _counts(app)
    with held_open(app, file_first) as made:
        second = waiting(lambda: submit(org.alice, org.seal_id, pdf,
                                        headers={"Idempotency-Key": "order-9"}))
    resp = second()
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["id"] == made[0]
    assert _counts(app) == (before[0] + 1, before[1] + 1)
