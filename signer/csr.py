"""Seal certificates from a CA outside Sealflow: a certification request (PKCS#10) for the seal's
key, wherever the key is (database or HSM), and the issued certificate checked before it is used.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Sequence

from asn1crypto import algos, pem
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from .der import asn1_certificate, spki_der
from .errors import SignerError
from .keys import PrivateKey, PublicKey
from .pkcs11 import Pkcs11Config
from .pkcs11_signer import sign_in_token
from .x509_parts import as_utc, x509_name

__all__ = ["InvalidCertificate", "IssuedCertificate", "check_issued_certificate",
           "make_csr", "software_signer", "token_signer"]


class InvalidCertificate(SignerError):
    """An imported certificate that cannot be the seal's: another key, not valid now, not a
    signing certificate, or not from a trusted CA."""


Sign = Callable[[bytes], bytes]
"""Signs bytes with the seal's key: SHA-256 with RSA PKCS#1 v1.5, or ECDSA (DER)."""


def software_signer(key: PrivateKey) -> Sign:
    """:data:`Sign` for a key held in memory."""
    if isinstance(key, rsa.RSAPrivateKey):
        return lambda data: key.sign(data, PKCS1v15(), hashes.SHA256())
    return lambda data: key.sign(data, ec.ECDSA(hashes.SHA256()))


def token_signer(config: Pkcs11Config, label: str, public_key: PublicKey) -> Sign:
    """:data:`Sign` for a key in a PKCS#11 token (it signs there)."""
    is_rsa = isinstance(public_key, rsa.RSAPublicKey)
    mechanism = algos.SignedDigestAlgorithm(
        {"algorithm": "sha256_rsa" if is_rsa else "sha256_ecdsa"})
    return lambda data: sign_in_token(config, label, data, mechanism, raw=not is_rsa)


def make_csr(public_key: PublicKey, sign: Sign, *, seal_name: str, org_name: str) -> bytes:
    """A PKCS#10 request (PEM) for ``public_key``, subject CN ``seal_name``, O ``org_name``,
    signed by ``sign`` (the key's owner: the database key, or the HSM)."""
    info = asn1_csr.CertificationRequestInfo({
        "version": "v1",
        "subject": asn1_x509.Name.load(x509_name(seal_name, org_name).public_bytes()),
        "subject_pk_info": asn1_keys.PublicKeyInfo.load(
            spki_der(public_key)),
        "attributes": asn1_csr.CRIAttributes([]),
    })
    algorithm = "sha256_rsa" if isinstance(public_key, rsa.RSAPublicKey) else "sha256_ecdsa"
    request = asn1_csr.CertificationRequest({
        "certification_request_info": info,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": algorithm}),
        "signature": sign(info.dump()),
    })
    armored = pem.armor("CERTIFICATE REQUEST", request.dump())
    if not x509.load_pem_x509_csr(armored).is_signature_valid:
        raise SignerError("the certification request does not verify: the key that signed it "
                          "is not the seal's")
    return armored


class IssuedCertificate:
    """A certificate checked for a seal: the leaf and the CA certificates above it."""

    def __init__(self, leaf: x509.Certificate, chain: Sequence[x509.Certificate]):
        self.leaf = leaf
        self.chain = tuple(chain)

    @property
    def cert_pem(self) -> bytes:
        return self.leaf.public_bytes(Encoding.PEM)

    @property
    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(Encoding.PEM) for c in self.chain)


def check_issued_certificate(bundle: bytes, public_key: PublicKeyTypes,
                             trust_roots: Sequence[bytes], *,
                             now: datetime.datetime | None = None) -> IssuedCertificate:
    """Check a PEM bundle (the seal's certificate first, then the CA certificates the CA sent)
    before a seal uses it: the certificate is for ``public_key``, valid now, allows signing
    (digitalSignature or nonRepudiation), is not a CA, and a path from it reaches one of
    ``trust_roots`` (PEM), checked by certvalidator (no revocation fetched here).

    :raises InvalidCertificate: saying which of these fails.
    """
    try:
        certs = x509.load_pem_x509_certificates(bundle)
    except ValueError:
        raise InvalidCertificate("the file holds no PEM certificate") from None
    leaf, others = certs[0], certs[1:]
    if spki_der(leaf.public_key()) != spki_der(public_key):
        raise InvalidCertificate(
            f"certificate {leaf.serial_number:x} is for another key than the seal's")
    now = as_utc(now)
    if not leaf.not_valid_before_utc <= now < leaf.not_valid_after_utc:
        raise InvalidCertificate(
            f"certificate {leaf.serial_number:x} is valid from "
            f"{leaf.not_valid_before_utc.isoformat()} to {leaf.not_valid_after_utc.isoformat()}, "
            "not now")
    _check_signing_certificate(leaf)
    roots = [asn1_certificate(c)
             for blob in trust_roots for c in x509.load_pem_x509_certificates(blob)]
    context = ValidationContext(
        trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=now,
        other_certs=[asn1_certificate(c) for c in others])
    validator = CertificateValidator(asn1_certificate(leaf), validation_context=context)
    try:
        path = asyncio.run(validator.async_validate_path())
    except PathBuildingError:
        raise InvalidCertificate(
            f"no trusted CA issued certificate {leaf.serial_number:x} (issuer "
            f"{leaf.issuer.rfc4514_string()}): send the CA certificates with it, and add the "
            "CA's root to SEALFLOW_EXTERNAL_CA_ROOTS") from None
    except PathValidationError as exc:
        raise InvalidCertificate(f"certificate {leaf.serial_number:x} does not validate: "
                                 f"{exc}") from None
    # Root first in the path; the seal's chain goes leaf-up (as pyHanko embeds it).
    above = [x509.load_der_x509_certificate(c.dump()) for c in path.iter_certs(include_root=True)]
    return IssuedCertificate(leaf, list(reversed(above))[1:])


def _check_signing_certificate(cert: x509.Certificate) -> None:
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise InvalidCertificate("that is a CA certificate, not a seal's")
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return  # no restriction
    if not (usage.digital_signature or usage.content_commitment):
        raise InvalidCertificate(f"certificate {cert.serial_number:x} does not allow signing "
                                 "(key usage: neither digitalSignature nor nonRepudiation)")
