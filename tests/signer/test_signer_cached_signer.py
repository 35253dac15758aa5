import asyncio
import hashlib

import pytest
from asn1crypto import keys as asn1_keys
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signer import seal_pdf
from signer.cached_signer import CachedKeySigner, max_signature_size

DATA = b"signed attributes stand-in"


@pytest.fixture
def count_key_parsing(monkeypatch):
    """Count calls of load_der_private_key, which pyHanko's SimpleSigner makes per signature."""
    calls = []
    original = serialization.load_der_private_key

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(serialization, "load_der_private_key", counting)
    return calls


def _seal(data, signer, appearance):
    return seal_pdf(
        data,
        expected_sha256=hashlib.sha256(data).hexdigest(),
        signer=signer,
        appearance_pdf=appearance.pdf,
    )


def test_seals_without_reparsing_the_key(count_key_parsing, any_signer, appearance, pdf_1p):
    for _ in range(3):
        _seal(pdf_1p, any_signer, appearance)
    assert count_key_parsing == []


def test_stock_signer_does_reparse(count_key_parsing, signer_rsa):
    # The control: the counter does see pyHanko's per-signature parsing.
    inner = signer_rsa.pyhanko_signer
    stock = signers.SimpleSigner(
        signing_cert=inner.signing_cert,
        signing_key=inner.signing_key,
        cert_registry=SimpleCertificateStore(),
    )
    stock.sign_raw(DATA, "sha256")
    assert count_key_parsing


def test_no_dry_run_signature_without_timestamper(monkeypatch, signer_rsa, appearance, pdf_1p):
    dry_runs = []
    original = CachedKeySigner.async_sign_raw

    async def spy(self, data, digest_algorithm, dry_run=False):
        dry_runs.append(dry_run)
        return await original(self, data, digest_algorithm, dry_run)

    monkeypatch.setattr(CachedKeySigner, "async_sign_raw", spy)
    _seal(pdf_1p, signer_rsa, appearance)
    assert dry_runs == [False]  # bytes_reserved is set, so pyHanko skips its size estimate


def _signer_for(key, pki_cert_source, prefer_pss=False) -> CachedKeySigner:
    return CachedKeySigner(
        key,
        signing_cert=pki_cert_source,
        cert_registry=SimpleCertificateStore(),
        prefer_pss=prefer_pss,
    )


def test_rsa_sign_raw_verifies(signer_rsa, pki, passphrase):
    key = pki.seal_rsa.private_key(passphrase)
    signature = signer_rsa.pyhanko_signer.sign_raw(DATA, "sha256")
    key.public_key().verify(signature, DATA, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, DATA + b"!", padding.PKCS1v15(), hashes.SHA256())
    dry = asyncio.run(signer_rsa.pyhanko_signer.async_sign_raw(DATA, "sha256", dry_run=True))
    assert len(dry) == len(signature) == max_signature_size(key) == 256


def test_rsa_pss_sign_raw_verifies(signer_rsa, pki, passphrase):
    key = pki.seal_rsa.private_key(passphrase)
    pss = _signer_for(key, signer_rsa.pyhanko_signer.signing_cert, prefer_pss=True)
    signature = pss.sign_raw(DATA, "sha256")
    key.public_key().verify(
        signature,
        DATA,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
        hashes.SHA256(),
    )


def test_ecdsa_sign_raw_verifies_and_dry_run_is_an_upper_bound(signer_p256, pki, passphrase):
    key = pki.seal_p256.private_key(passphrase)
    signer = signer_p256.pyhanko_signer
    bound = len(asyncio.run(signer.async_sign_raw(DATA, "sha256", dry_run=True)))
    assert bound == max_signature_size(key) == 72
    for i in range(50):
        message = DATA + bytes([i])
        signature = signer.sign_raw(message, "sha256")
        key.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))
        decode_dss_signature(signature)
        assert len(signature) <= bound


def test_max_signature_size_other_curves():
    assert max_signature_size(ec.generate_private_key(ec.SECP384R1())) == 104
    # P-521: 67-byte integers make the sequence contents 138 bytes, which needs a long length.
    assert max_signature_size(ec.generate_private_key(ec.SECP521R1())) == 141


def test_signing_key_attribute_is_kept(signer_p256, pki, passphrase):
    # SimpleSigner's contract: signing_key is the PrivateKeyInfo of the key.
    inner = signer_p256.pyhanko_signer
    assert isinstance(inner.signing_key, asn1_keys.PrivateKeyInfo)
    assert "PRIVATE" not in repr(inner) and "财务专用章" in repr(inner)
