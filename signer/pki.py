"""The organisation's certificates, the signer's side (processes/pki/ runs the CA service,
app/pki.py serves it): root CA, issuing CA, seal and TSA certificates.

Every private key is returned encrypted (PKCS#8) in a :class:`KeyMaterial`, stored as is by the
caller. Names may be Chinese: subject attributes are UTF8String."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from os import PathLike

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from .der import spki_der
from .errors import KeyUnavailable
from .keys import (
    PrivateKey,
    PublicKey,
    encrypt_private_key,
    generate_private_key,
    private_key_from_bytes,
)
from .x509_parts import (
    CN_MAX_BYTES,
    as_utc,
    authority_key_id,
    ca_common_name,
    ca_key_usage,
    certificate_builder,
    crl_points,
    signer_key_usage,
    x509_name,
    years_after,
)

__all__ = [
    "KeyMaterial",
    "certificate_from_file",
    "certificate_from_pem",
    "certify_public_key",
    "create_ca_hierarchy",
    "issue_seal_certificate",
    "issue_tsa_certificate",
]

logger = logging.getLogger(__name__)

ROOT_CA_YEARS = 20
ISSUING_CA_YEARS = 10
TSA_DAYS = 1826
"""Default validity of a TSA certificate (five years). Its tokens can be checked only while it
is valid: renew it in time, and add archive timestamps (B-LTA) to documents kept longer."""


@dataclass(frozen=True)
class KeyMaterial:
    """A certificate with its private key, the key encrypted with the key passphrase."""

    cert_pem: bytes
    """The certificate, PEM."""

    key_pem: bytes = field(repr=False)
    """The private key, PKCS#8 PEM encrypted with the passphrase (never in clear)."""

    def certificate(self) -> x509.Certificate:
        """The certificate as a :mod:`cryptography` object."""
        return certificate_from_pem(self.cert_pem)

    def private_key(self, passphrase: bytes) -> PrivateKey:
        """Decrypt the private key; :class:`~signer.errors.KeyUnavailable` if that fails."""
        return private_key_from_bytes(self.key_pem, passphrase)

    def matching_key(self, passphrase: bytes, whose: str = "the certificate's") -> PrivateKey:
        """:meth:`private_key`, checked to be the certificate's key (a key kept apart, in a
        file, may be another one); :class:`~signer.errors.KeyUnavailable` if it is not, saying
        it is not ``whose`` key."""
        key = self.private_key(passphrase)
        if spki_der(key.public_key()) != spki_der(self.certificate().public_key()):
            raise KeyUnavailable(f"that key is not {whose} key")
        return key

    @property
    def serial_hex(self) -> str:
        """The certificate's serial number, lower-case hex without separators."""
        return format(self.certificate().serial_number, "x")


def certificate_from_pem(pem: bytes) -> x509.Certificate:
    """Load one PEM certificate (the first one, if ``pem`` holds several)."""
    return x509.load_pem_x509_certificate(pem)


def certificate_from_file(path: str | PathLike[str]) -> x509.Certificate:
    """Like :func:`certificate_from_pem`, reading from ``path``."""
    with open(path, "rb") as f:
        return certificate_from_pem(f.read())


def create_ca_hierarchy(
    org_name: str,
    passphrase: bytes,
    *,
    key_type: str = "rsa2048",
    root_crl_url: str | None = None,
    now: datetime.datetime | None = None,
) -> tuple[KeyMaterial, KeyMaterial]:
    """Create the organisation's root CA and an issuing CA signed by it.

    The root ("<org_name> Root CA") is valid for 20 years and may have one CA below it; the issuing
    CA ("<org_name> Issuing CA") for 10 years and issues only end-entity certificates. With
    ``root_crl_url``, the issuing CA's certificate says where the root's CRL is published.

    :return: ``(root, issuing)``.
    """
    now = as_utc(now)
    root_key = generate_private_key(key_type)
    root_name = x509_name(ca_common_name(org_name, " Root CA"), org_name)
    root_cert = (
        certificate_builder(root_name, root_name, root_key.public_key(), now,
                            years_after(now, ROOT_CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(ca_key_usage(), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )

    issuing_key = generate_private_key(key_type)
    issuing_builder = (
        certificate_builder(
            x509_name(ca_common_name(org_name, " Issuing CA"), org_name),
            root_name,
            issuing_key.public_key(),
            now,
            years_after(now, ISSUING_CA_YEARS),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(ca_key_usage(), critical=True)
        .add_extension(authority_key_id(root_cert), critical=False)
    )
    if root_crl_url:
        issuing_builder = issuing_builder.add_extension(crl_points(root_crl_url), critical=False)
    issuing_cert = issuing_builder.sign(root_key, hashes.SHA256())
    logger.info(
        "created CA hierarchy for %r: root serial %x, issuing serial %x",
        org_name,
        root_cert.serial_number,
        issuing_cert.serial_number,
    )
    return (
        _material(root_cert, root_key, passphrase),
        _material(issuing_cert, issuing_key, passphrase),
    )


def issue_seal_certificate(
    issuer: KeyMaterial,
    passphrase: bytes,
    *,
    seal_name: str,
    org_name: str,
    key_type: str = "rsa2048",
    valid_days: int = 730,
    crl_url: str | None = None,
    now: datetime.datetime | None = None,
) -> KeyMaterial:
    """Generate a seal key and its end-entity certificate, signed by ``issuer``.

    The certificate is the one :func:`certify_public_key` makes. ``passphrase`` decrypts the
    issuer's key and encrypts the new one.

    :raises KeyUnavailable: the issuer's key cannot be decrypted with ``passphrase``.
    """
    _check_seal_request(seal_name, valid_days)
    key = generate_private_key(key_type)
    cert_pem = certify_public_key(
        issuer,
        passphrase,
        key.public_key(),
        seal_name=seal_name,
        org_name=org_name,
        valid_days=valid_days,
        crl_url=crl_url,
        now=now,
    )
    return KeyMaterial(cert_pem=cert_pem, key_pem=encrypt_private_key(key, passphrase))


def certify_public_key(
    issuer: KeyMaterial,
    passphrase: bytes,
    public_key: PublicKey,
    *,
    seal_name: str,
    org_name: str,
    valid_days: int = 730,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    now: datetime.datetime | None = None,
) -> bytes:
    """Issue a seal certificate, signed by ``issuer``, for a key held elsewhere (an HSM).

    The certificate (CN ``seal_name``, O ``org_name``) allows digitalSignature and nonRepudiation,
    is not a CA, and carries a CRL distribution point when ``crl_url`` is given (and the OCSP
    responder's address with ``ocsp_url``). Its validity ends
    after ``valid_days``, or when the issuer's does, whichever is first. ``passphrase`` decrypts the
    issuer's key.

    :param public_key: the seal's RSA or elliptic-curve public key.
    :return: the certificate, PEM.
    :raises KeyUnavailable: the issuer's key cannot be decrypted with ``passphrase``.
    """
    _check_seal_request(seal_name, valid_days)
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError("a seal key must be an RSA or elliptic-curve public key")
    now = as_utc(now)
    issuer_cert = issuer.certificate()
    try:
        is_ca = issuer_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise ValueError("the issuer certificate is not a CA certificate")
    issuer_key = issuer.private_key(passphrase)

    not_after = min(now + datetime.timedelta(days=valid_days), issuer_cert.not_valid_after_utc)
    builder = (
        certificate_builder(x509_name(seal_name, org_name), issuer_cert.subject, public_key, now,
                            not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(signer_key_usage(), critical=True)
        .add_extension(authority_key_id(issuer_cert), critical=False)
    )
    if crl_url:
        builder = builder.add_extension(crl_points(crl_url), critical=False)
    if ocsp_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    logger.info("issued seal certificate %r, serial %x", seal_name, cert.serial_number)
    return cert.public_bytes(Encoding.PEM)


def _check_seal_request(seal_name: str, valid_days: int) -> None:
    if valid_days <= 0:
        raise ValueError("valid_days must be positive")
    if not 0 < len(seal_name.encode()) <= CN_MAX_BYTES:
        raise ValueError(
            f"the seal name must be 1 to {CN_MAX_BYTES} bytes of UTF-8 (21 Chinese characters)"
        )


def issue_tsa_certificate(
    issuer: KeyMaterial,
    passphrase: bytes,
    *,
    org_name: str,
    name: str | None = None,
    key_type: str = "rsa2048",
    valid_days: int = TSA_DAYS,
    crl_url: str | None = None,
    now: datetime.datetime | None = None,
) -> KeyMaterial:
    """Generate the timestamp authority's key and its certificate, signed by ``issuer``.

    The certificate (CN ``name``, by default "<org_name> TSA"; O ``org_name``) has the extended
    key usage timeStamping only, critical (RFC 3161 section 2.3), and the key usage
    digitalSignature and nonRepudiation; it is not a CA, and carries a CRL distribution point when
    ``crl_url`` is given. Its validity ends after ``valid_days``, or when the issuer's does,
    whichever is first. ``passphrase`` decrypts the issuer's key and encrypts the new one.

    :raises KeyUnavailable: the issuer's key cannot be decrypted with ``passphrase``.
    """
    if valid_days <= 0:
        raise ValueError("valid_days must be positive")
    common_name = name or ca_common_name(org_name, " TSA")
    if not 0 < len(common_name.encode()) <= CN_MAX_BYTES:
        raise ValueError(f"the TSA name must be 1 to {CN_MAX_BYTES} bytes of UTF-8")
    now = as_utc(now)
    issuer_cert = issuer.certificate()
    issuer_key = issuer.private_key(passphrase)
    key = generate_private_key(key_type)
    not_after = min(now + datetime.timedelta(days=valid_days), issuer_cert.not_valid_after_utc)
    subject = x509_name(common_name, org_name)
    builder = (
        certificate_builder(subject, issuer_cert.subject, key.public_key(), now, not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(signer_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(authority_key_id(issuer_cert), critical=False)
    )
    if crl_url:
        builder = builder.add_extension(crl_points(crl_url), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    logger.info("issued TSA certificate %r, serial %x", common_name, cert.serial_number)
    return _material(cert, key, passphrase)


def _material(cert: x509.Certificate, key: PrivateKey, passphrase: bytes) -> KeyMaterial:
    return KeyMaterial(
        cert_pem=cert.public_bytes(Encoding.PEM), key_pem=encrypt_private_key(key, passphrase)
    )
