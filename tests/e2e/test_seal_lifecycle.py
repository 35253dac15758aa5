"""Suspending halts a seal's requests in flight until it resumes; voiding and revoking fail
them with the reason; every transition records who, when and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.extensions import db
from app.jobs import runner
from processes.db import unit_of_work
from processes.errors import BadInput, NotAllowed, WorkflowStateError
from processes.models import Seal, SealStatus
from processes.people.directory import Identity, get_user
from processes.seals import expiry, lifecycle
from tests.conftest import deploy, only_task, submit
from tests.holding import held_open, waiting

DATA = Path(__file__).parent / "data" / "policy"


@pytest.fixture
def guarded(org):
    assert deploy(org.designer, DATA / "guarded.bpmn").status_code == 201
    return org


def _move(app, seal_id: int, to: SealStatus, reason: str = "因故", who: str | None = None):
    with app.app_context(), unit_of_work(db.session):
        seal = db.session.get(Seal, seal_id)
        identity = Identity(get_user(db.session, who)) if who else None
        lifecycle.transition(db.session, seal, to, reason=reason, identity=identity)


def test_suspend_halts_in_flight_requests_and_resume_continues_them(app, guarded, pdf):
    runner(app).mode = "external"
    waiting = submit(guarded.alice, guarded.seal_id, pdf, process="guarded",
                     data={}).get_json()["id"]
    authorized = submit(guarded.alice, guarded.seal_id, pdf, process="guarded",
                        data={}).get_json()["id"]
    tasks = {t["request_id"]: t for t in guarded.carol.get("/api/v1/tasks").get_json()}
    guarded.carol.post(f"/api/v1/tasks/{tasks[authorized]['id']}/complete",
                       json={"decision": "approve"})
    _move(app, guarded.seal_id, SealStatus.suspended, "印章送检", who="carol")
    for rid in (waiting, authorized):
        assert guarded.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] == "halted"
    assert guarded.carol.get("/api/v1/tasks").get_json() == []
    assert guarded.carol.post(f"/api/v1/tasks/{tasks[waiting]['id']}/complete",
                              json={"decision": "approve"}).status_code == 409
    assert runner(app).sweep() == 0  # nothing seals while the seal is suspended
    refused = submit(guarded.alice, guarded.seal_id, pdf, process="guarded", data={})
    assert refused.status_code == 422 and "suspended" in refused.get_json()["error"]["message"]

    _move(app, guarded.seal_id, SealStatus.active, "检验完毕")
    assert guarded.alice.get(f"/api/v1/requests/{waiting}").get_json()["status"] == "running"
    assert only_task(guarded.carol)["request_id"] == waiting
    runner(app).sweep()
    assert guarded.alice.get(f"/api/v1/requests/{authorized}").get_json()["status"] == "sealed"
    with app.app_context():
        history = lifecycle.history(db.session, db.session.get(Seal, guarded.seal_id))
    assert [(h["from"], h["to"], h["by"], h["reason"]) for h in history] == [
        ("active", "suspended", "carol", "印章送检"), ("suspended", "active", None, "检验完毕")]


@pytest.mark.parametrize("end", [SealStatus.revoked, SealStatus.voided])
def test_revoking_or_voiding_fails_requests_in_flight_and_the_seal_cannot_seal(app, guarded,
                                                                              pdf, end):
    rid = submit(guarded.alice, guarded.seal_id, pdf, process="guarded", data={}).get_json()["id"]
    _move(app, guarded.seal_id, end, "私钥泄露")
    body = guarded.alice.get(f"/api/v1/requests/{rid}").get_json()
    assert body["status"] == "failed"
    assert f"was {end.value}: 私钥泄露" in body["failure"]
    assert guarded.carol.get("/api/v1/tasks").get_json() == []
    assert submit(guarded.alice, guarded.seal_id, pdf, process="guarded",
                  data={}).status_code == 422
    with pytest.raises(WorkflowStateError):
        _move(app, guarded.seal_id, SealStatus.active)


def test_only_custodians_and_seal_admins_manage_a_seal_and_reasons_are_required(app, guarded,
                                                                             make_user):
    with pytest.raises(NotAllowed):
        _move(app, guarded.seal_id, SealStatus.suspended, who="alice")
    make_user("sam", roles=["seal_admin"])
    with pytest.raises(BadInput):
        _move(app, guarded.seal_id, SealStatus.suspended, reason=" ", who="sam")
    _move(app, guarded.seal_id, SealStatus.suspended, who="sam")


def test_the_cli_suspends_resumes_and_sets_a_policy(app, guarded):
    cli = app.test_cli_runner()
    out = cli.invoke(args=["seal", "suspend", str(guarded.seal_id), "--reason", "盘点"])
    assert out.exit_code == 0 and "suspended" in out.output
    assert cli.invoke(args=["seal", "suspend", str(guarded.seal_id), "--reason", "x"]
                      ).exit_code == 1
    assert cli.invoke(args=["seal", "resume", str(guarded.seal_id), "--reason", "盘点完毕"]
                      ).exit_code == 0
    out = cli.invoke(args=["seal", "policy", str(guarded.seal_id), "--max-uses", "10",
                           "--demand", "custodian", "--demand", "group:legal"])
    assert out.exit_code == 0, out.output
    assert "guarded v1: REFUSED" in out.output and "member of group legal" in out.output


def test_revoking_publishes_the_seal_certificate_on_the_crl(app, guarded, pki_material):
    from cryptography import x509

    from app.context import env
    from processes.pki import revocation
    with app.app_context(), unit_of_work(db.session):
        first = revocation.publish(db.session, env())
        assert x509.load_der_x509_crl(first.der).next_update_utc > first.this_update
    _move(app, guarded.seal_id, SealStatus.revoked, "私钥泄露")  # publishes again (job runner)
    with app.app_context():
        latest = revocation.latest(db.session)
        listed = x509.load_der_x509_crl(latest.der)
        seal = db.session.get(Seal, guarded.seal_id)
        serial = x509.load_pem_x509_certificate(seal.cert_pem).serial_number
        issuing = pki_material["issuing"].certificate()
    assert latest.number == first.number + 1
    assert listed.get_revoked_certificate_by_serial_number(serial) is not None
    assert listed.is_signature_valid(issuing.public_key())
    assert listed.issuer == issuing.subject


def test_expiry_moves_a_seal_to_expired_and_warns_before(app, guarded, monkeypatch, login):
    from datetime import timedelta

    from signer import certificate_from_pem

    with app.app_context(), unit_of_work(db.session):
        seal = db.session.get(Seal, guarded.seal_id)
        not_after = certificate_from_pem(seal.cert_pem).not_valid_after_utc
    monkeypatch.setattr(expiry, "utcnow", lambda: not_after - timedelta(days=10))
    with app.app_context(), unit_of_work(db.session):
        assert expiry.warn_expiring(db.session) == [guarded.seal_id]
        assert expiry.warn_expiring(db.session) == []  # once
    # The custodian is told, once: by the API, and on the inbox page.
    told = guarded.carol.get("/api/v1/notices").get_json()
    assert told["unread"] == 1 and guarded.alice.get("/api/v1/notices").get_json()["unread"] == 0
    (notice,) = told["notices"]
    assert notice["kind"] == "seal.expiring" and notice["link"] == f"/seals/{guarded.seal_id}"
    assert not_after.date().isoformat() in notice["message"]
    assert notice["message"].split("。")[0] in login("carol").get("/inbox").get_data(as_text=True)
    assert guarded.alice.post(f"/api/v1/notices/{notice['id']}/read").status_code == 404
    assert guarded.carol.post(f"/api/v1/notices/{notice['id']}/read").get_json() == \
        {"unread": 0}
    assert guarded.carol.get("/api/v1/notices?unread=1").get_json()["notices"] == []
    monkeypatch.setattr(expiry, "utcnow", lambda: not_after + timedelta(seconds=1))
    with app.app_context(), unit_of_work(db.session):
        assert expiry.expire_due(db.session) == [guarded.seal_id]
        assert db.session.get(Seal, guarded.seal_id).status == SealStatus.expired


def test_two_changes_of_one_seal_at_once_take_turns_and_the_second_sees_the_first(app,
                                                                                 guarded):
    """A revocation still in its transaction, and a suspension asked meanwhile: the suspension
    waits for it and is refused by the status it left (read from a stale row, a revoked seal
    would have become suspended, and could have been resumed)."""
    def change(session, to: SealStatus, reason: str):
        return lifecycle.transition(session, session.get(Seal, guarded.seal_id), to,
                                    reason=reason)

    def suspend() -> str:
        with app.app_context():
            try:
                with unit_of_work(db.session):
                    change(db.session, SealStatus.suspended, "audit")
                return "done"
            except WorkflowStateError as exc:
                return exc.message
            finally:
                db.session.remove()

    with held_open(app, lambda s: change(s, SealStatus.revoked, "key lost")):
        suspended = waiting(suspend)
    assert suspended() == f"seal {guarded.seal_id} is revoked and cannot become suspended"
    with app.app_context():
        assert db.session.get(Seal, guarded.seal_id).status is SealStatus.revoked
        db.session.rollback()


def test_a_request_filed_while_its_seal_is_being_suspended_waits_and_is_refused(app, guarded,
                                                                                 pdf):
    with held_open(app, lambda s: lifecycle.transition(
            s, s.get(Seal, guarded.seal_id), SealStatus.suspended, reason="audit")):
        filed = waiting(lambda: submit(guarded.alice, guarded.seal_id, pdf))
    resp = filed()
    assert resp.status_code == 422, resp.get_json()
    assert "suspended and cannot be used" in resp.get_json()["error"]["message"]


def test_two_expiry_runs_at_once_expire_a_seal_once(app, guarded, monkeypatch):
    """Two workers' maintenance at once (each worker runs its own scheduler): the second finds
    the seal expired by the first once it gets its row, and skips it rather than failing."""
    from datetime import timedelta

    from signer import certificate_from_pem

    with app.app_context(), unit_of_work(db.session):
        not_after = certificate_from_pem(
            db.session.get(Seal, guarded.seal_id).cert_pem).not_valid_after_utc
    monkeypatch.setattr(expiry, "utcnow", lambda: not_after + timedelta(days=1))

    def again() -> list[int]:
        with app.app_context():
            try:
                with unit_of_work(db.session):
                    return expiry.expire_due(db.session)
            finally:
                db.session.remove()

    with held_open(app, expiry.expire_due) as first:
        second = waiting(again)
    assert first == [[guarded.seal_id]]
    assert second() == []
