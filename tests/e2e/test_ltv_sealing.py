"""Long-term seals end to end: a seal set to B-LTA from the command line, the contract flow
sealing at B-LTA against Sealflow's own TSA (in-process, and over real HTTP), and the scheduler
renewing the archive timestamp before the TSA certificate behind it expires."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import signer
from app.context import env
from app.extensions import db
from app.jobs import runner
from app.renewal_jobs import renew_due_timestamps
from processes.db import unit_of_work
from processes.models import AuditEvent, Seal, utcnow
from processes.pki import revocation
from processes.pki_models import PkiAuthority, PublishedCrl
from tests.conftest import seal_one, sealed_bytes
from tests.pdfcheck import assert_sealed, assert_timestamped

PASSPHRASE = b"test-passphrase"  # TestConfig.KEY_PASSPHRASE


@pytest.fixture
def own_tsa(request, app):
    """Sealflow's own TSA: asked in-process (``"in-process"``, the default), or over real HTTP
    (``"http"``: the live TSA under a URL of this test's own, so the sealing job's HTTP client,
    kept per URL and process with its sample token, is this test's too)."""
    if getattr(request, "param", "in-process") == "http":
        live_tsa = request.getfixturevalue("live_tsa")
        app.config.update(TSA_URL=f"{live_tsa.url}/tsa?test={uuid.uuid4().hex}")
    else:
        app.config.update(PADES_LEVEL="B-T", TSA_URL="")
    app.extensions.pop("sealflow_env", None)
    return app


def _use_tsa_certificate(app, pki_material, *, valid_days: int, name: str) -> signer.KeyMaterial:
    """Give the organisation's TSA a new certificate (and key), as a rotation would."""
    km = signer.issue_tsa_certificate(pki_material["issuing"], PASSPHRASE,
                                      org_name="测试科技有限公司", name=name,
                                      valid_days=valid_days, crl_url="http://localhost/pki/crl")
    with app.app_context(), unit_of_work(db.session):
        row = db.session.execute(
            select(PkiAuthority).where(PkiAuthority.kind == "tsa")).scalar_one()
        row.cert_pem, row.key_pem = km.cert_pem, km.key_pem
    return km


def _publish_crl(app) -> bytes:
    with app.app_context(), unit_of_work(db.session):
        return revocation.publish(db.session, env()).der


def _set_level(app, seal_id: int, level: str) -> str:
    result = app.test_cli_runner().invoke(args=["seal", "level", str(seal_id), level])
    assert result.exit_code == 0, result.output
    return result.output


def _renewals(app) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "document.archive_timestamp_renewed")
            .order_by(AuditEvent.seq)).scalars())


def test_init_publishes_a_crl(bare_app):
    cli = bare_app.test_cli_runner()
    for _ in range(2):
        result = cli.invoke(args=["init"])
        assert result.exit_code == 0, result.output
    with bare_app.app_context():
        # Once each, however often init runs: the issuing CA's and the root's.
        by_issuer = {c.issuer: c for c in db.session.execute(select(PublishedCrl)).scalars()}
        assert db.session.query(PublishedCrl).count() == 2 and set(by_issuer) == {"issuing",
                                                                                 "root"}
        published = by_issuer["issuing"]
        assert published.next_update > utcnow()
        issuing = db.session.execute(select(PkiAuthority.cert_pem).where(
            PkiAuthority.kind == "issuing")).scalar_one()
        listed = signer.certificate_from_pem(issuing)
        from cryptography import x509
        assert x509.load_der_x509_crl(published.der).is_signature_valid(listed.public_key())


def test_a_seals_level_is_set_from_the_command_line(app, org):
    assert "signs at B-LTA" in _set_level(app, org.seal_id, "B-LTA")
    with app.app_context():
        assert db.session.get(Seal, org.seal_id).pades_level == "B-LTA"
    assert "(the default)" in _set_level(app, org.seal_id, "default")
    with app.app_context():
        assert db.session.get(Seal, org.seal_id).pades_level is None
        events = db.session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "seal.pades_level_changed")).scalar()
    assert events == 2
    assert app.test_cli_runner().invoke(
        args=["seal", "level", str(org.seal_id), "B-XL"]).exit_code != 0


@pytest.mark.parametrize("own_tsa", ["in-process", "http"], indirect=True)
def test_contract_flow_at_b_lta_and_the_renewal_job(org, pdf, app, own_tsa, pki_material,
                                                    trust_roots, ca_pems):
    # The TSA certificate in use now runs out in 30 days, within the renewal window.
    _use_tsa_certificate(app, pki_material, valid_days=30, name="TSA 2026")
    crl_der = _publish_crl(app)
    _set_level(app, org.seal_id, "B-LTA")

    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    sealed = sealed_bytes(org, body["id"])
    assert sealed.startswith(pdf)
    assert_timestamped(sealed, trust_roots, ca_pems)
    report = signer.validate_document(sealed, trust_roots)
    assert [s.level for s in report.signatures] == ["B-LTA"]
    (stamp,) = report.document_timestamps
    assert stamp.bottom_line and stamp.tsa == "TSA 2026"
    assert crl_der in sealed  # the published CRL went into the DSS

    # Not due yet for a 7-day window; the scheduler's 90 days make it due.
    with app.app_context():
        quiet = renew_due_timestamps(db.session, env(), before=timedelta(days=7))
    assert quiet.checked == 1 and quiet.renewed == [] and quiet.stopped is None

    # The TSA gets a new certificate; the scheduler's PKI job renews the archive timestamp.
    renewed_km = _use_tsa_certificate(app, pki_material, valid_days=1826, name="TSA 2031")
    runner(app).maintain_pki()
    after = org.alice.get(f"/api/v1/requests/{body['id']}").get_json()
    assert after["status"] == "sealed"
    assert after["sealed_document"]["sha256"] != body["sealed_document"]["sha256"]
    renewed = sealed_bytes(org, body["id"])
    assert renewed.startswith(sealed)
    assert_timestamped(renewed, trust_roots, ca_pems)
    report = signer.validate_document(renewed, trust_roots)
    assert [s.level for s in report.signatures] == ["B-LTA"]
    assert [ts.tsa for ts in report.document_timestamps] == ["TSA 2026", "TSA 2031"]
    assert all(ts.bottom_line for ts in report.document_timestamps)
    assert (signer.archive_timestamp_expiry(renewed)
            == renewed_km.certificate().not_valid_after_utc)

    (event,) = _renewals(app)
    assert event.request_id == body["id"] and event.seal_id == org.seal_id
    assert event.details["old_sha256"] == body["sealed_document"]["sha256"]
    assert event.details["new_sha256"] == after["sealed_document"]["sha256"]
    with app.app_context():
        assert renew_due_timestamps(db.session, env()).renewed == []  # no longer due
    # Copies of the document as first sealed are still ours after the renewal.
    for copy in (sealed, renewed):
        rows = app.test_client().post("/api/v1/verify", data={
            "file": (io.BytesIO(copy), "c.pdf")}, content_type="multipart/form-data"
        ).get_json()["signatures"]
        assert rows[0]["approval"]["request_id"] == body["id"]
    assert len(_renewals(app)) == 1


def test_a_renewal_that_would_not_help_is_dropped(org, pdf, app, own_tsa, trust_roots):
    """Far enough ahead, the TSA's own certificate lapses within the window too: renewing with
    it would leave the document due, so nothing is stored and the run stops."""
    _publish_crl(app)
    _set_level(app, org.seal_id, "B-LTA")
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    with app.app_context():
        run = renew_due_timestamps(db.session, env(), now=utcnow() + timedelta(days=3650))
    assert run.renewed == [] and "renew the TSA certificate" in run.stopped
    after = org.alice.get(f"/api/v1/requests/{body['id']}").get_json()
    assert after["sealed_document"] == body["sealed_document"]
    assert _renewals(app) == []
    assert_sealed(sealed_bytes(org, body["id"]), trust_roots)


def test_b_lt_without_a_crl_fails_clearly_and_seals_on_retry(org, pdf, app, own_tsa, api,
                                                            trust_roots, ca_pems):
    _set_level(app, org.seal_id, "B-LT")
    body = seal_one(org, pdf)
    assert body["status"] == "failed"
    assert "CRL" in body["failure"] and "none has been published" in body["failure"]

    _publish_crl(app)
    admin = api("root", roles=["admin"])
    resp = admin.post(f"/api/v1/requests/{body['id']}/retry")
    assert resp.status_code == 200, resp.get_json()
    after = org.alice.get(f"/api/v1/requests/{body['id']}").get_json()
    assert after["status"] == "sealed", after
    sealed = sealed_bytes(org, body["id"])
    (report,) = assert_timestamped(sealed, trust_roots, ca_pems)
    assert report.level == "B-LT" and report.modification_level == "LTA_UPDATES"
    assert signer.validate_document(sealed, trust_roots).document_timestamps == []


def test_a_b_t_seal_follows_its_level_not_the_default(org, pdf, app, trust_roots, ca_pems):
    """With SEALFLOW_PADES_LEVEL at B-B (the tests' default), a B-T seal still gets its
    timestamp: from the built-in TSA, in-process; or from the external TSA configured, and when
    none answers there, the seal waits for it, saying so."""
    _set_level(app, org.seal_id, "B-T")
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    (report,) = assert_timestamped(sealed_bytes(org, body["id"]), trust_roots, ca_pems)
    assert report.level == "B-T"

    app.config.update(TSA_URL="http://127.0.0.1:9/tsa")  # nothing listens there
    app.extensions.pop("sealflow_env", None)
    body = seal_one(org, pdf)
    assert body["status"] == "authorized", body
    assert body["sealing"]["waiting_for"] == "timestamp", body
    assert "timestamp service could not be reached" in body["sealing"]["reason"], body


def test_a_failed_renewal_leaves_the_document_and_is_tried_again(org, pdf, app, own_tsa,
                                                                pki_material):
    _use_tsa_certificate(app, pki_material, valid_days=30, name="TSA 2026")
    _publish_crl(app)
    _set_level(app, org.seal_id, "B-LTA")
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    app.config.update(TSA_URL="http://127.0.0.1:9/tsa")  # nothing listens there
    app.extensions.pop("sealflow_env", None)
    with app.app_context():
        run = renew_due_timestamps(db.session, env())
    assert run.failed == [body["id"]] and run.renewed == []
    after = org.alice.get(f"/api/v1/requests/{body['id']}").get_json()
    assert after["sealed_document"] == body["sealed_document"]
    assert _renewals(app) == []
