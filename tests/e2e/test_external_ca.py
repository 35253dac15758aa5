"""A seal certified by a CA outside Sealflow: made with a certification request, waiting
(requested) until its custodian imports the certificate the CA issued, which is checked; then it
seals like any other, trusted through the external root."""

from __future__ import annotations

import io

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

import signer
from app.extensions import db
from processes.models import Seal, SealStatus
from tests.conftest import seal_one, sealed_bytes, submit
from tests.pdfcheck import assert_sealed

PASSPHRASE = b"external-ca-test"
SEAL_NAME = "测试科技有限公司电子合同章"


@pytest.fixture(scope="module")
def external_pki():
    """An electronic certification service's CA (root and issuing), and a CA nobody trusts."""
    root, issuing = signer.create_ca_hierarchy("外部电子认证服务有限公司", PASSPHRASE,
                                               key_type="p256")
    _, stranger = signer.create_ca_hierarchy("不受信任的CA", PASSPHRASE, key_type="p256")
    return root, issuing, stranger


@pytest.fixture
def external_app(app, external_pki, tmp_path):
    roots = tmp_path / "external-roots.pem"
    roots.write_bytes(external_pki[0].cert_pem)
    app.config["EXTERNAL_CA_ROOTS"] = str(roots)
    app.extensions.pop("sealflow_env", None)  # built from the config on first use
    return app


def _issue(issuer: signer.KeyMaterial, public_key) -> bytes:
    return signer.certify_public_key(issuer, PASSPHRASE, public_key, seal_name=SEAL_NAME,
                                     org_name="测试科技有限公司")


def _import(client, seal_id: int, bundle: bytes):
    return client.post(f"/api/v1/seals/{seal_id}/certificate", data=bundle,
                       content_type="application/x-pem-file")


def test_a_seal_certified_by_an_external_ca(external_app, org, pdf, trust_roots, external_pki):
    ext_root, ext_issuing, stranger = external_pki
    runner = external_app.test_cli_runner()
    made = runner.invoke(args=["seal", "create", SEAL_NAME, "--custodian", "carol",
                               "--external-ca", "--key-type", "p256"])
    assert made.exit_code == 0, made.output
    seal_id = int(made.output.split()[-1])
    with external_app.app_context():
        seal = db.session.get(Seal, seal_id)
        assert seal.status is SealStatus.requested and seal.cert_pem == b""
    # A requested seal cannot seal yet, nor be made active but by its certificate.
    refused = submit(org.alice, seal_id, pdf)
    assert refused.status_code == 422 and "requested" in refused.get_json()["error"]["message"]
    forced = runner.invoke(args=["seal", "resume", str(seal_id), "--reason", "急用"])
    assert forced.exit_code == 1 and "no certificate yet" in forced.output

    # The request goes to the CA: the custodian downloads it; others may not.
    assert org.alice.get(f"/api/v1/seals/{seal_id}/csr").status_code == 403
    resp = org.carol.get(f"/api/v1/seals/{seal_id}/csr")
    assert resp.status_code == 200 and resp.mimetype == "application/pkcs10"
    request = x509.load_pem_x509_csr(resp.data)
    assert request.is_signature_valid
    assert request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == SEAL_NAME
    cli_csr = runner.invoke(args=["seal", "csr", str(seal_id)])
    assert cli_csr.exit_code == 0 and x509.load_pem_x509_csr(cli_csr.output.encode()) == request

    # What the CA sends back is checked before the seal takes it.
    issued = _issue(ext_issuing, request.public_key())
    other_key = signer.generate_private_key("p256").public_key()
    cases = [
        (_issue(ext_issuing, other_key) + ext_issuing.cert_pem, "another key"),
        (_issue(stranger, request.public_key()) + stranger.cert_pem, "no trusted CA"),
        (issued, "no trusted CA"),  # the issuing CA's certificate left out: no path
        (b"not a certificate", "no PEM certificate"),
    ]
    for bundle, message in cases:
        bad = _import(org.carol, seal_id, bundle)
        assert bad.status_code == 422 and message in bad.get_json()["error"]["message"], \
            bad.get_json()
    assert _import(org.alice, seal_id, issued + ext_issuing.cert_pem).status_code == 403
    with external_app.app_context():
        assert db.session.get(Seal, seal_id).status is SealStatus.requested

    ok = _import(org.carol, seal_id, issued + ext_issuing.cert_pem)
    assert ok.status_code == 200, ok.get_json()
    serial = format(x509.load_pem_x509_certificate(issued).serial_number, "x")
    assert ok.get_json()["status"] == "active"
    assert ok.get_json()["certificate_serial"] == serial
    again = _import(org.carol, seal_id, issued + ext_issuing.cert_pem)
    assert again.status_code == 422

    # It seals like any other seal; the signature chains to the external root.
    org.seal_id = seal_id
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    sealed = sealed_bytes(org, body["id"])
    (report,) = assert_sealed(sealed, trust_roots + [ext_root.cert_pem])
    assert report.certificate_serial == serial and report.signer == SEAL_NAME
    verified = org.alice.post("/api/v1/verify", data={"file": (io.BytesIO(sealed), "s.pdf")},
                              content_type="multipart/form-data").get_json()
    (row,) = verified["signatures"]
    assert row["trusted"] and row["seal"]["id"] == seal_id


def test_the_seal_page_offers_the_request_and_takes_the_certificate(
        external_app, org, external_pki, login):
    _, ext_issuing, _ = external_pki
    made = external_app.test_cli_runner().invoke(args=[
        "seal", "create", SEAL_NAME, "--custodian", "carol", "--external-ca", "--key-type",
        "p256"])
    seal_id = int(made.output.split()[-1])
    carol = login("carol")
    page = carol.get(f"/seals/{seal_id}").get_data(as_text=True)
    assert "Awaiting the external CA" in page and f"/seals/{seal_id}/seal.csr" in page
    assert "Download the CSR" not in login("alice").get(f"/seals/{seal_id}").get_data(
        as_text=True)
    request = x509.load_pem_x509_csr(carol.get(f"/seals/{seal_id}/seal.csr").data)

    def upload(bundle: bytes):
        return carol.post(f"/seals/{seal_id}/certificate", follow_redirects=True,
                          data={"certificate": (io.BytesIO(bundle), "issued.pem")},
                          content_type="multipart/form-data").get_data(as_text=True)

    assert "no trusted CA" in upload(_issue(ext_issuing, request.public_key()))
    with external_app.app_context():
        assert db.session.get(Seal, seal_id).status is SealStatus.requested
    done = upload(_issue(ext_issuing, request.public_key()) + ext_issuing.cert_pem)
    assert "the seal is active" in done
    with external_app.app_context():
        assert db.session.get(Seal, seal_id).status is SealStatus.active
