"""An OCSP responder (RFC 6960) for the certificates the issuing CA signed: the CA answers
itself (no delegated responder certificate), by the serial number asked about."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from .der import spki_der
from .keys import PrivateKey
from .x509_parts import as_utc

__all__ = ["CertificateState", "OcspAnswer", "answer_ocsp"]

VALID_FOR = datetime.timedelta(hours=1)
"""A response's nextUpdate: how long a relying party may keep it."""


class CertificateState(enum.Enum):
    good = "good"
    revoked = "revoked"
    unknown = "unknown"


@dataclass(frozen=True)
class OcspAnswer:
    """What the responder knows of one serial number."""

    state: CertificateState
    revoked_at: datetime.datetime | None = None
    reason: x509.ReasonFlags | None = None


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(Encoding.DER)


def answer_ocsp(request_der: bytes, issuer: x509.Certificate, issuer_key: PrivateKey,
                lookup: Callable[[int], OcspAnswer], *,
                now: datetime.datetime | None = None) -> bytes:
    """The DER OCSP response to ``request_der``: for a certificate of ``issuer``, its state
    (``lookup`` by serial number), signed with ``issuer_key``; a malformed request, or one
    about another CA's certificate, gets an unsuccessful response (malformedRequest,
    unauthorized), as RFC 6960 has it."""
    try:
        request = ocsp.load_der_ocsp_request(request_der)
        algorithm = request.hash_algorithm
        name_hash, key_hash = request.issuer_name_hash, request.issuer_key_hash
        serial = request.serial_number
    except (ValueError, TypeError, NotImplementedError):
        return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
    if (name_hash, key_hash) != _issuer_hashes(issuer, algorithm):
        return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
    answer = lookup(serial)
    now = as_utc(now).replace(microsecond=0)
    status = {CertificateState.good: ocsp.OCSPCertStatus.GOOD,
              CertificateState.revoked: ocsp.OCSPCertStatus.REVOKED,
              CertificateState.unknown: ocsp.OCSPCertStatus.UNKNOWN}[answer.state]
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=name_hash, issuer_key_hash=key_hash, serial_number=serial,
        algorithm=algorithm, cert_status=status, this_update=now, next_update=now + VALID_FOR,
        revocation_time=answer.revoked_at if status is ocsp.OCSPCertStatus.REVOKED else None,
        revocation_reason=answer.reason if status is ocsp.OCSPCertStatus.REVOKED else None,
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
    try:
        nonce = request.extensions.get_extension_for_class(x509.OCSPNonce).value
        builder = builder.add_extension(nonce, critical=False)
    except x509.ExtensionNotFound:
        pass
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(Encoding.DER)


def _issuer_hashes(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm) -> tuple[bytes,
                                                                                       bytes]:
    """The CertID hashes of ``issuer``: of its subject name (DER) and of its public key (the
    BIT STRING's contents), as a request names it."""
    def digest(data: bytes) -> bytes:
        h = hashes.Hash(algorithm)
        h.update(data)
        return h.finalize()

    spki = spki_der(issuer.public_key())
    key_bits = asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]  # skip unused-bits
    return digest(issuer.subject.public_bytes()), digest(key_bits)
