"""Certificate revocation lists, signed by the CA that issued the revoked certificates."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from .pki import KeyMaterial
from .x509_parts import ca_public_key

__all__ = ["Revocation", "make_crl", "crl_from_der"]


@dataclass(frozen=True)
class Revocation:
    """One revoked certificate."""

    serial: int
    """The certificate's serial number."""

    revoked_at: datetime.datetime
    """When it was revoked (timezone-aware)."""

    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified
    """The CRL reason code (keyCompromise, cessationOfOperation, ...)."""


def make_crl(issuer: KeyMaterial, passphrase: bytes, revoked: Sequence[Revocation], *,
             number: int, this_update: datetime.datetime,
             next_update: datetime.datetime) -> bytes:
    """A DER CRL listing ``revoked``, valid from ``this_update`` until ``next_update``."""
    if next_update <= this_update:
        raise ValueError("next_update must be after this_update")
    cert = issuer.certificate()
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(cert.subject)
               .last_update(this_update)
               .next_update(next_update)
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_public_key(cert)), critical=False))
    for item in revoked:
        entry = (x509.RevokedCertificateBuilder().serial_number(item.serial)
                 .revocation_date(item.revoked_at))
        if item.reason != x509.ReasonFlags.unspecified:
            entry = entry.add_extension(x509.CRLReason(item.reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(issuer.private_key(passphrase), hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def crl_from_der(data: bytes) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(data)
