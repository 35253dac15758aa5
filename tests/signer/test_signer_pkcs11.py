"""Seal keys in a PKCS#11 token (SoftHSM2): generated inside, signing there, never coming out."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import time
from dataclasses import replace
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from signer import (
    KeyUnavailable,
    SignerError,
    certify_public_key,
    export_private_key,
    generate_key_in_token,
    key_protection,
    pkcs11_seal_signer,
    seal_pdf,
    store_certificate,
    validate_pdf,
)
from tests.softhsm import init_token, pkcs11_tool, softhsm_token

from .conftest import ORG, PASSPHRASE

KEY_TYPES = ["rsa2048", "p256"]


@pytest.fixture(scope="module")
def softhsm_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("softhsm")


@pytest.fixture(scope="module")
def token(softhsm_dir):
    with softhsm_token(softhsm_dir, "sealflow-signer-tests") as config:
        yield config


@pytest.fixture(scope="module")
def token_keys(token, pki) -> dict[str, bytes]:
    """One seal key of each type, generated in the token and certified by the issuing CA:
    ``{label: certificate PEM}``."""
    certs = {}
    for key_type in KEY_TYPES:
        label = f"seal-{key_type}"
        public = generate_key_in_token(token, label, key_type)
        cert_pem = certify_public_key(pki.issuing, PASSPHRASE, public,
                                      seal_name=f"合同专用章 {key_type}", org_name=ORG)
        store_certificate(token, label, cert_pem)
        certs[label] = cert_pem
    return certs


@pytest.fixture(scope="module")
def chain(pki) -> list[bytes]:
    return [pki.issuing.cert_pem, pki.root.cert_pem]


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_a_token_key_seals_a_pdf_that_validates(token, token_keys, chain, key_type, pki,
                                                 appearance, pdf_1p, pdfsig):
    label = f"seal-{key_type}"
    seal_signer = pkcs11_seal_signer(token, label, token_keys[label], chain)
    expected = {"rsa2048": rsa.RSAPublicKey, "p256": ec.EllipticCurvePublicKey}[key_type]
    assert isinstance(seal_signer.certificate.public_key(), expected)

    started = time.perf_counter()
    sealed = seal_pdf(pdf_1p, expected_sha256=hashlib.sha256(pdf_1p).hexdigest(),
                      signer=seal_signer, appearance_pdf=appearance.pdf)
    elapsed_ms = (time.perf_counter() - started) * 1000

    assert sealed.startswith(pdf_1p)
    (report,) = validate_pdf(sealed, [pki.root.cert_pem])
    assert report.intact and report.valid and report.trusted and report.bottom_line, report
    assert report.signer == f"合同专用章 {key_type}"
    assert report.certificate_serial == seal_signer.serial_hex
    assert "Signature is Valid." in pdfsig(sealed)
    assert elapsed_ms < 5000  # SoftHSM signs in milliseconds; this only catches a hang


def test_the_signer_survives_a_lost_session(token, token_keys, chain, appearance, pdf_1p, pki,
                                            caplog, monkeypatch):
    # Alembic's fileConfig (run by the migration tests) disables the loggers that exist by then.
    monkeypatch.setattr(logging.getLogger("signer.pkcs11_sessions"), "disabled", False)
    seal_signer = pkcs11_seal_signer(token, "seal-p256", token_keys["seal-p256"], chain)
    # Re-initialising the module closes every session under Sealflow's feet, as a restarted HSM
    # or a dropped network HSM connection would.
    pkcs11.lib(token.module).reinitialize()
    sealed = seal_pdf(pdf_1p, expected_sha256=hashlib.sha256(pdf_1p).hexdigest(),
                      signer=seal_signer, appearance_pdf=appearance.pdf)
    (report,) = validate_pdf(sealed, [pki.root.cert_pem])
    assert report.bottom_line, report.summary
    assert "failed (SessionHandleInvalid); opening a new one" in caplog.text


def _sign_in_child(token, label, cert_pem, chain, appearance_pdf, pdf, queue) -> None:
    seal_signer = pkcs11_seal_signer(token, label, cert_pem, chain)
    queue.put(seal_pdf(pdf, expected_sha256=hashlib.sha256(pdf).hexdigest(), signer=seal_signer,
                       appearance_pdf=appearance_pdf))


def test_a_forked_worker_opens_its_own_session(token, token_keys, chain, appearance, pdf_1p, pki):
    # The parent holds a logged-in session; a forked worker (gunicorn, the job runner) must not
    # use it, but initialise the module again and log in for itself. (SoftHSM2 lives in process
    # memory, so its child could have used the copy; this shows the re-initialising path works
    # and leaves the parent's session alone. A network HSM is what makes the path necessary.)
    assert key_protection(token, "seal-rsa2048").held_in_token
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_sign_in_child, args=(
        token, "seal-rsa2048", token_keys["seal-rsa2048"], chain, appearance.pdf, pdf_1p, queue))
    child.start()
    sealed = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    (report,) = validate_pdf(sealed, [pki.root.cert_pem])
    assert report.bottom_line, report.summary
    assert key_protection(token, "seal-rsa2048").held_in_token  # the parent's session still works


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_a_token_key_cannot_be_exported(token, token_keys, key_type):
    label = f"seal-{key_type}"
    with pytest.raises(KeyUnavailable, match="sensitive and not extractable") as caught:
        export_private_key(token, label)
    assert token.user_pin not in str(caught.value)

    protection = key_protection(token, label)
    assert protection.sensitive and protection.always_sensitive
    assert not protection.extractable and protection.never_extractable
    assert protection.local and protection.token
    assert protection.held_in_token


def test_the_export_attempt_tells_an_extractable_key_apart(token, token_keys):
    # The control: a key the token would wrap out. Without it, a refusal proves nothing.
    made = pkcs11_tool(token, "--keypairgen", "--key-type", "EC:prime256v1", "--label",
                       "control-extractable", "--id", "99", "--usage-sign", "--extractable")
    assert made.returncode == 0, made.stderr
    with pytest.raises(SignerError, match="wrapped out") as caught:
        export_private_key(token, "control-extractable")
    assert not isinstance(caught.value, KeyUnavailable)
    assert not key_protection(token, "control-extractable").held_in_token


def test_pkcs11_tool_sees_a_protected_key_and_its_certificate(token, token_keys, tmp_path):
    """OpenSC's pkcs11-tool, in its own process, reads the token independently of Sealflow.

    (Its ``--read-object --type privkey`` is no test of the token: OpenSC 0.23 answers "reading
    private keys not (yet) supported" and exits 0 for every private key, extractable or not. The
    discriminating attempts are those of export_private_key, with the control above.)
    """
    listing = pkcs11_tool(token, "--list-objects", "--type", "privkey")
    assert listing.returncode == 0, listing.stderr
    blocks = {block.split("label:", 1)[1].split()[0]: block
              for block in listing.stdout.split("Private Key Object")[1:]}
    for key_type in KEY_TYPES:
        access = blocks[f"seal-{key_type}"].split("Access:", 1)[1].splitlines()[0]
        assert [a.strip() for a in access.split(",")] == [
            "sensitive", "always sensitive", "never extractable", "local"], access
        usage = blocks[f"seal-{key_type}"].split("Usage:", 1)[1].splitlines()[0]
        assert usage.strip() == "sign"

    out = tmp_path / "cert.der"
    read = pkcs11_tool(token, "--read-object", "--type", "cert", "--label", "seal-p256",
                       "--output-file", str(out))
    assert read.returncode == 0, read.stderr
    stored = x509.load_pem_x509_certificate(token_keys["seal-p256"])
    assert out.read_bytes() == stored.public_bytes(Encoding.DER)


def test_a_certificate_for_another_key_is_refused(token, token_keys, chain, pki):
    with pytest.raises(KeyUnavailable, match="not for the key"):
        pkcs11_seal_signer(token, "seal-rsa2048", pki.seal_rsa.cert_pem, chain)
    with pytest.raises(KeyUnavailable, match="not for the key"):
        store_certificate(token, "seal-rsa2048", token_keys["seal-p256"])


def test_unknown_labels_and_reused_labels(token, token_keys):
    with pytest.raises(KeyUnavailable, match="no private key labelled 'nope'"):
        export_private_key(token, "nope")
    with pytest.raises(ValueError, match="already holds"):
        generate_key_in_token(token, "seal-p256", "p256")
    with pytest.raises(ValueError, match="unknown key type"):
        generate_key_in_token(token, "seal-dsa", "dsa1024")


def test_a_wrong_pin_or_token_is_refused_without_showing_the_pin(token, token_keys,
                                                                softhsm_dir):
    with pytest.raises(KeyUnavailable, match="no PKCS#11 token labelled 'absent'"):
        key_protection(replace(token, token_label="absent"), "seal-p256")
    # A second token, made while this process already uses the first, is found all the same.
    other = init_token(softhsm_dir, "sealflow-other")
    bad = replace(other, user_pin="999999")
    with pytest.raises(KeyUnavailable, match="refused the user PIN") as caught:
        generate_key_in_token(bad, "never", "p256")
    assert "999999" not in str(caught.value)
    assert "999999" not in repr(bad)
    # The first token's keys still sign (their session was reopened after the rescan).
    assert key_protection(token, "seal-p256").held_in_token


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_a_certification_request_is_signed_in_the_token(token, token_keys, key_type):
    from signer.csr import make_csr, token_signer

    label = f"seal-{key_type}"
    public = x509.load_pem_x509_certificate(token_keys[label]).public_key()
    pem = make_csr(public, token_signer(token, label, public), seal_name="电子合同章",
                   org_name=ORG)
    request = x509.load_pem_x509_csr(pem)
    assert request.is_signature_valid
    assert request.public_key().public_numbers() == public.public_numbers()
    # Another key's signer cannot make a request for this key.
    other = "seal-p256" if key_type == "rsa2048" else "seal-rsa2048"
    other_public = x509.load_pem_x509_certificate(token_keys[other]).public_key()
    with pytest.raises(SignerError):
        make_csr(public, token_signer(token, other, other_public), seal_name="x", org_name=ORG)
