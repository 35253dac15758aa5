"""The DER forms pyHanko and key comparisons want, from :mod:`cryptography` objects."""

from __future__ import annotations

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["asn1_certificate", "spki_der"]


def spki_der(public_key: PublicKeyTypes) -> bytes:
    """A public key's DER SubjectPublicKeyInfo: how two keys are compared."""
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def asn1_certificate(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The certificate as pyHanko wants it (asn1crypto)."""
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
