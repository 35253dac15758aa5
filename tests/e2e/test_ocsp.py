"""The issuing CA's OCSP responder at /pki/ocsp, judged by `openssl ocsp` over real HTTP: a seal's
certificate is good, then revoked with its seal; others are unknown or not ours to answer."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

import signer
from app.context import env
from app.extensions import db
from processes.db import unit_of_work
from processes.models import Seal, SealStatus
from processes.people import directory
from processes.people.directory import Identity
from processes.seals import lifecycle, registry

PASSPHRASE = b"test-passphrase"  # TestConfig.KEY_PASSPHRASE


def _openssl_ocsp(live_server, tmp_path: Path, pki_material, cert_pem: bytes,
                  issuer_pem: bytes | None = None) -> str:
    files = {"root.pem": pki_material["root"].cert_pem,
             "issuing.pem": issuer_pem or pki_material["issuing"].cert_pem, "cert.pem": cert_pem}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    done = subprocess.run(
        ["openssl", "ocsp", "-issuer", "issuing.pem", "-cert", "cert.pem", "-url",
         f"{live_server.url}/pki/ocsp", "-CAfile", "root.pem", "-verify_other", "issuing.pem",
         "-resp_text"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    return done.stdout + done.stderr


def test_openssl_hears_good_then_revoked(app, org, live_server, tmp_path, pki_material,
                                        make_user):
    live_server.app = app
    make_user("root", roles=["admin"])  # revokes at once, an emergency
    seal_pem = pki_material["seal"].cert_pem
    good = _openssl_ocsp(live_server, tmp_path, pki_material, seal_pem)
    assert "Response verify OK" in good and "cert.pem: good" in good, good

    with app.app_context(), unit_of_work(db.session):
        seal = db.session.get(Seal, org.seal_id)
        lifecycle.transition(db.session, seal, SealStatus.revoked, reason="私钥泄露",
                             identity=Identity(directory.get_user(db.session, "root")))
    revoked = _openssl_ocsp(live_server, tmp_path, pki_material, seal_pem)
    assert "Response verify OK" in revoked and "cert.pem: revoked" in revoked, revoked
    assert "Reason: keyCompromise" in revoked

    # Issued by our CA but never registered: unknown. Another CA's certificate: not ours.
    stray = signer.issue_seal_certificate(pki_material["issuing"], PASSPHRASE,
                                          seal_name="未登记的章", org_name="测试科技有限公司")
    unknown = _openssl_ocsp(live_server, tmp_path, pki_material, stray.cert_pem)
    assert "cert.pem: unknown" in unknown, unknown
    _, other_issuing = signer.create_ca_hierarchy("别的单位", PASSPHRASE, key_type="p256")
    other = signer.issue_seal_certificate(other_issuing, PASSPHRASE, seal_name="别人的章",
                                          org_name="别的单位", key_type="p256")
    refused = _openssl_ocsp(live_server, tmp_path, pki_material, other.cert_pem,
                            issuer_pem=other_issuing.cert_pem)
    assert "unauthorized" in refused, refused


def _request(cert: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None):
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256())
    if nonce:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(Encoding.DER)


def test_get_post_nonce_and_bad_requests(app, client, org, pki_material):
    issuer = pki_material["issuing"].certificate()
    cert = pki_material["seal"].certificate()
    der = _request(cert, issuer, nonce=b"sealflow-nonce-1")
    posted = client.post("/pki/ocsp", data=der, content_type="application/ocsp-request")
    assert posted.status_code == 200 and posted.mimetype == "application/ocsp-response"
    answer = ocsp.load_der_ocsp_response(posted.data)
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert answer.serial_number == cert.serial_number
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == \
        b"sealflow-nonce-1"
    assert answer.next_update_utc > answer.this_update_utc
    # Signed by the issuing CA itself (RSA here).
    issuer.public_key().verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(),
                               answer.signature_hash_algorithm)

    encoded = base64.b64encode(_request(cert, issuer)).decode()
    got = client.get(f"/pki/ocsp/{encoded}")
    assert ocsp.load_der_ocsp_response(got.data).certificate_status is ocsp.OCSPCertStatus.GOOD

    garbage = client.post("/pki/ocsp", data=b"not an OCSP request",
                          content_type="application/ocsp-request")
    assert ocsp.load_der_ocsp_response(garbage.data).response_status is \
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    wrong_type = client.post("/pki/ocsp", data=der, content_type="application/json")
    assert wrong_type.status_code == 415


def test_a_new_seal_names_the_responder_and_renewals_are_answered_for(app, org, pki_material):
    with app.app_context(), unit_of_work(db.session):
        carol = directory.get_user(db.session, "carol")
        seal = registry.create_seal(db.session, env(), "OCSP 测试章", custodians=[carol],
                                 key_type="p256")
        first = seal.cert_pem
        registry.renew_certificate(db.session, env(), seal)
        second = seal.cert_pem
    for pem in (first, second):
        cert = x509.load_pem_x509_certificate(pem)
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        assert aia[0].access_location.value.endswith("/pki/ocsp")
        der = _request(cert, pki_material["issuing"].certificate())
        answer = ocsp.load_der_ocsp_response(org.alice.post(
            "/pki/ocsp", data=der, content_type="application/ocsp-request").data)
        assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
