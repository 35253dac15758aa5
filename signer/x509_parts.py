"""The parts every certificate Sealflow makes is built from (signer/pki.py makes the CA's,
signer/csr.py the requests, signer/tsa.py and signer/ocsp.py read the time the same way): names,
validity, key usages, CRL distribution points and key identifiers."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from .errors import KeyUnavailable
from .keys import PublicKey

CN_MAX_BYTES = 64
"""The longest common name :mod:`cryptography` accepts, counted in UTF-8 bytes."""
CLOCK_SKEW = datetime.timedelta(minutes=5)
"""Certificates are valid from this long before ``now``, so a node whose clock is slightly behind
can use a certificate issued on another node straight away."""


def as_utc(now: datetime.datetime | None) -> datetime.datetime:
    """``now`` in UTC (the current time when None); a naive datetime is refused."""
    if now is None:
        return datetime.datetime.now(datetime.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(datetime.UTC)


def years_after(now: datetime.datetime, years: int) -> datetime.datetime:
    # 365.25 days a year keeps the anniversary within a day without calendar arithmetic.
    return now + datetime.timedelta(days=round(365.25 * years))


def ca_common_name(org_name: str, suffix: str) -> str:
    """``org_name + suffix``, the name shortened if that exceeds the 64 bytes a common name may
    have (long Chinese legal names do); the organisation attribute keeps the full name."""
    while len((org_name + suffix).encode()) > CN_MAX_BYTES:
        org_name = org_name[:-1]
    return org_name + suffix


def x509_name(common_name: str, org_name: str) -> x509.Name:
    # cryptography encodes both attributes as UTF8String by default, so Chinese names work.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_name),
        ]
    )


def certificate_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key,
    now: datetime.datetime,
    not_after: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def signer_key_usage() -> x509.KeyUsage:
    """An end-entity that signs: digitalSignature and nonRepudiation (contentCommitment)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def crl_points(crl_url: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([
        x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)],
            relative_name=None,
            reasons=None,
            crl_issuer=None,
        )
    ])


def authority_key_id(issuer_cert: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public_key(issuer_cert))
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def ca_public_key(cert: x509.Certificate) -> PublicKey:
    """The public key of one of Sealflow's CA certificates: RSA or EC, as every key it makes."""
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise KeyUnavailable(f"a CA with a {type(key).__name__} is not one of Sealflow's")
    return key
