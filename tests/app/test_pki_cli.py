"""The organisation CA's root: its CRL (the issuing CA's status) at /pki/root.crl, and its key
taken offline, after which the root CRL is signed with the key file and everything else goes on."""

from __future__ import annotations

import datetime
import os
import stat

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import select

import signer
from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.models import AuditEvent
from processes.pki import revocation
from processes.pki_models import PkiAuthority


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def _root_crl(client) -> x509.CertificateRevocationList:
    resp = client.get("/pki/root.crl")
    assert resp.status_code == 200 and resp.mimetype == "application/pkix-crl"
    return x509.load_der_x509_crl(resp.data)


def test_the_root_publishes_a_crl_and_its_key_goes_offline(bare_app, tmp_path):
    app, client = bare_app, bare_app.test_client()
    assert _run(app, "init").exit_code == 0
    root, issuing = x509.load_pem_x509_certificates(client.get("/pki/ca").data)

    # The issuing CA's certificate says where its status is; the root signs that list.
    points = issuing.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value.endswith("/pki/root.crl")
    first = _root_crl(client)
    assert first.issuer == root.subject and len(first) == 0
    root.public_key().verify(first.signature, first.tbs_certlist_bytes, padding.PKCS1v15(),
                             first.signature_hash_algorithm)
    assert first.next_update_utc - first.last_update_utc == datetime.timedelta(days=365)

    # Never over an existing file; the key stays online then.
    taken = tmp_path / "taken.pem"
    taken.write_bytes(b"something else")
    refused = _run(app, "pki", "root-offline", "--out", str(taken))
    assert refused.exit_code == 1 and "exists" in refused.output
    assert taken.read_bytes() == b"something else"

    key_file = tmp_path / "root-key.pem"
    out = _run(app, "pki", "root-offline", "--out", str(key_file))
    assert out.exit_code == 0, out.output
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    with app.app_context():
        row = db.session.execute(select(PkiAuthority).where(PkiAuthority.kind == "root")) \
            .scalar_one()
        assert row.key_pem == b""
        key = signer.KeyMaterial(row.cert_pem, key_file.read_bytes()).private_key(
            env().key_passphrase)
    assert key.public_key().public_numbers() == root.public_key().public_numbers()
    again = _run(app, "pki", "root-offline", "--out", str(tmp_path / "again.pem"))
    assert again.exit_code == 1 and "already offline" in again.output

    # With the key offline the issuing CA goes on: a new seal gets its certificate.
    assert _run(app, "user", "add", "carol").exit_code == 0
    made = _run(app, "seal", "create", "合同专用章", "--custodian", "carol")
    assert made.exit_code == 0, made.output

    # The root CRL needs the key file now, and only the root's key.
    offline = _run(app, "pki", "root-crl")
    assert offline.exit_code == 1 and "offline" in offline.output
    with app.app_context():
        issuing_key = db.session.execute(select(PkiAuthority.key_pem).where(
            PkiAuthority.kind == "issuing")).scalar_one()
    wrong = tmp_path / "issuing.pem"
    wrong.write_bytes(issuing_key)
    refused = _run(app, "pki", "root-crl", "--root-key", str(wrong))
    assert refused.exit_code == 1 and "not the root CA's key" in refused.output
    signed = _run(app, "pki", "root-crl", "--root-key", str(key_file))
    assert signed.exit_code == 0, signed.output
    second = _root_crl(client)
    number = second.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number == 2 and second.last_update_utc >= first.last_update_utc


def test_the_scheduler_renews_the_root_crl_only_while_the_key_is_online(bare_app):
    app = bare_app
    assert _run(app, "init").exit_code == 0
    with app.app_context():
        current = revocation.latest(db.session, "root")
        late = current.next_update - datetime.timedelta(days=10)
        early = current.next_update - datetime.timedelta(days=60)
        with unit_of_work(db.session):
            assert revocation.renew_root_if_due(db.session, env(), now=early) is None
            assert revocation.renew_root_if_due(db.session, env(), now=late) == "published"
        assert revocation.latest(db.session, "root").number == 2
        with unit_of_work(db.session):
            db.session.execute(select(PkiAuthority).where(PkiAuthority.kind == "root")) \
                .scalar_one().key_pem = b""
        later = revocation.latest(db.session, "root").next_update - datetime.timedelta(days=1)
        with unit_of_work(db.session):
            assert revocation.renew_root_if_due(db.session, env(), now=later) == "due"
        assert revocation.latest(db.session, "root").number == 2
        warned = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "pki.root_crl_due")).scalars().all()
        assert len(warned) == 1
