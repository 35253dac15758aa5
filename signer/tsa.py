"""A timestamp authority (RFC 3161); the client side is :mod:`signer.tsa_client`.

:class:`TimestampAuthority` answers a DER ``TimeStampReq`` with a DER ``TimeStampResp``: either
*granted*, with a token (CMS SignedData over a ``TSTInfo``, SHA-256, RSA or ECDSA, an ESSCertIDv2
``signing-certificate-v2`` attribute naming the TSA certificate), or a *rejection* with a
``failInfo`` when the request is unusable. Bad input never raises: it is answered.

The serial number and the time are handed in, so the caller decides where they come from (a
database counter, the clock); nothing here keeps state.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from .der import spki_der
from .errors import KeyUnavailable, TimestampRefused
from .keys import PrivateKey
from .pki import KeyMaterial
from .tsa_request import (
    DEFAULT_HASH_ALGORITHMS,
    DIGEST_SIZES,
    TimestampRequest,
    accept_request,
)
from .x509_parts import as_utc

__all__ = [
    "DEFAULT_TSA_POLICY",
    "TimestampAuthority",
    "TimestampRequest",
    "TimestampResponse",
    "timestamp_rejection",
]

logger = logging.getLogger(__name__)

DEFAULT_TSA_POLICY = "2.25.45484555553018743881081177631804062713"
"""The TSA policy named in tokens unless configured otherwise: an OID derived from a UUID
(ITU-T X.667), so it is Sealflow's own without a registered arc. An organisation with a written
TSA policy sets its OID instead."""

DEFAULT_ACCURACY = datetime.timedelta(seconds=1)
"""How far genTime may be from true time, as promised in each token."""

@dataclass(frozen=True)
class TimestampAuthority:
    """A timestamp authority's signing identity and what it promises (RFC 3161).

    Build it once and keep it: the certificate-derived parts of every token are prepared on first
    use. Use :meth:`from_key_material` for stored keys.
    """

    certificate: x509.Certificate
    """The TSA certificate: extended key usage timeStamping only, critical."""

    private_key: PrivateKey = field(repr=False)
    """The decrypted key of :attr:`certificate` (RSA or elliptic curve)."""

    chain: tuple[x509.Certificate, ...] = ()
    """CA certificates sent along with the TSA certificate when a request asks for certificates
    (``certReq``), issuer first; the root may be left out, the verifier has it."""

    policy: str = DEFAULT_TSA_POLICY
    """The TSA policy OID named in every token; a request naming another policy is refused."""

    accuracy: datetime.timedelta | None = DEFAULT_ACCURACY
    """Accuracy promised in every token (whole seconds, milliseconds and microseconds); ``None``
    leaves it out."""

    hash_algorithms: frozenset[str] = DEFAULT_HASH_ALGORITHMS
    """Message-imprint algorithms accepted (asn1crypto names, e.g. ``"sha256"``)."""

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeyUnavailable("a TSA signs with an RSA or elliptic-curve key")
        if spki_der(self.private_key.public_key()) != spki_der(self.certificate.public_key()):
            raise KeyUnavailable(
                f"the private key does not belong to TSA certificate "
                f"{self.certificate.serial_number:x}"
            )
        try:
            eku = self.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        except x509.ExtensionNotFound:
            eku = None
        only_time_stamping = [ExtendedKeyUsageOID.TIME_STAMPING]
        if eku is None or not eku.critical or list(eku.value) != only_time_stamping:
            raise ValueError(
                "a TSA certificate needs a critical extended key usage of timeStamping only "
                "(RFC 3161 section 2.3)"
            )
        unknown = set(self.hash_algorithms) - set(DIGEST_SIZES)
        if unknown or not self.hash_algorithms:
            raise ValueError(
                f"hash_algorithms must be a non-empty subset of {', '.join(sorted(DIGEST_SIZES))}"
            )
        core.ObjectIdentifier(self.policy).dump()  # ValueError for a malformed OID
        if self.accuracy is not None and self.accuracy <= datetime.timedelta(0):
            raise ValueError("accuracy must be positive (or None)")

    @classmethod
    def from_key_material(
        cls,
        km: KeyMaterial,
        passphrase: bytes,
        chain: Sequence[bytes] = (),
        **settings,
    ) -> TimestampAuthority:
        """Build from stored key material; ``chain`` holds PEM CA certificates, issuer first.
        ``settings`` are the other attributes (``policy``, ``accuracy``, ``hash_algorithms``).

        :raises KeyUnavailable: the key cannot be decrypted with ``passphrase``.
        """
        chain_certs = tuple(c for pem in chain for c in x509.load_pem_x509_certificates(pem))
        return cls(
            certificate=km.certificate(),
            private_key=km.private_key(passphrase),
            chain=chain_certs,
            **settings,
        )

    def __repr__(self) -> str:
        return (
            f"<TimestampAuthority {self.certificate.subject.rfc4514_string()!r} "
            f"serial {self.certificate.serial_number:x} policy {self.policy}>"
        )

    def respond(
        self, request_der: bytes, *, serial: int, now: datetime.datetime | None = None
    ) -> bytes:
        """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp``.

        A usable request is granted a token with serial number ``serial`` and genTime ``now``
        (the current time by default); anything else gets a rejection naming the problem. Callers
        that draw serial numbers from a counter should use :meth:`accept` and :meth:`grant`, so a
        rejected request does not use one up.

        :raises ValueError: ``serial`` is not a positive integer of at most 159 bits (a caller's
            mistake, never the request's).
        """
        try:
            request = self.accept(request_der)
        except TimestampRefused as refused:
            return timestamp_rejection(refused)
        return self.grant(request, serial=serial, now=now)

    def accept(self, request_der: bytes) -> TimestampRequest:
        """Parse and check a DER ``TimeStampReq`` against this authority's policy and
        algorithms (:func:`signer.tsa_request.accept_request`).

        :raises TimestampRefused: with the RFC 3161 ``failInfo``.
        """
        return accept_request(request_der, hash_algorithms=self.hash_algorithms,
                              policy=self.policy)

    def grant(
        self,
        request: TimestampRequest,
        *,
        serial: int,
        now: datetime.datetime | None = None,
    ) -> bytes:
        """A granted DER ``TimeStampResp`` for an accepted request.

        :raises ValueError: ``serial`` is not a positive integer of at most 159 bits, or ``now``
            is naive.
        """
        if not 0 < serial < 2**159:
            raise ValueError("a token's serial number must be a positive integer below 2**159")
        gen_time = as_utc(now)
        tst_info: dict = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": tsp.MessageImprint.load(request.message_imprint),
            "serial_number": serial,
            "gen_time": gen_time,
            "tsa": self._tsa_name,
        }
        if self._accuracy is not None:
            tst_info["accuracy"] = self._accuracy
        if request.nonce is not None:
            tst_info["nonce"] = request.nonce
        tst_der = tsp.TSTInfo(tst_info).dump()

        message_digest = cms.CMSAttribute(
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]}
        )
        signed_attrs = _frozen(
            cms.CMSAttributes(
                [self._content_type_attr, _frozen(message_digest), self._signing_certificate_attr]
            )
        )
        signature = self._sign(signed_attrs.dump())  # over the SET OF, as RFC 5652 5.4 says
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": self._sid,
                "digest_algorithm": self._sha256,
                "signed_attrs": signed_attrs,
                "signature_algorithm": self._signature_algorithm,
                "signature": signature,
            }
        )
        signed_data: dict = {
            "version": "v3",
            "digest_algorithms": [self._sha256],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(tst_der),
            },
            "signer_infos": [_frozen(signer_info)],
        }
        if request.cert_req:
            signed_data["certificates"] = self._certificates
        token = cms.ContentInfo(
            {"content_type": "signed_data", "content": _frozen(cms.SignedData(signed_data))}
        )
        response = TimestampResponse({"status": self._granted, "time_stamp_token": _frozen(token)})
        return response.dump()

    def _sign(self, data: bytes) -> bytes:
        key = self.private_key
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), hashes.SHA256())
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    # The parts of every token that depend on the certificate only, built on first use (frozen:
    # see _frozen).

    @functools.cached_property
    def _sha256(self) -> algos.DigestAlgorithm:
        return _frozen(algos.DigestAlgorithm({"algorithm": "sha256"}))

    @functools.cached_property
    def _granted(self) -> tsp.PKIStatusInfo:
        return _frozen(tsp.PKIStatusInfo({"status": "granted"}))

    @functools.cached_property
    def _content_type_attr(self) -> cms.CMSAttribute:
        return _frozen(cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}))

    @functools.cached_property
    def _asn1_certificate(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.certificate.public_bytes(Encoding.DER))

    @functools.cached_property
    def _certificates(self) -> list[asn1_x509.Certificate]:
        chain = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in self.chain]
        return [self._asn1_certificate, *chain]

    @functools.cached_property
    def _tsa_name(self) -> asn1_x509.GeneralName:
        return _frozen(
            asn1_x509.GeneralName(name="directory_name", value=self._asn1_certificate.subject)
        )

    @functools.cached_property
    def _sid(self) -> cms.SignerIdentifier:
        cert = self._asn1_certificate
        return _frozen(
            cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": cert.issuer, "serial_number": cert.serial_number},
            )
        )

    @functools.cached_property
    def _signing_certificate_attr(self) -> cms.CMSAttribute:
        cert = self._asn1_certificate
        ess_cert_id = tsp.ESSCertIDv2(
            {
                "hash_algorithm": {"algorithm": "sha256"},
                "cert_hash": hashlib.sha256(cert.dump()).digest(),
                "issuer_serial": {
                    "issuer": [asn1_x509.GeneralName(name="directory_name", value=cert.issuer)],
                    "serial_number": cert.serial_number,
                },
            }
        )
        return _frozen(
            cms.CMSAttribute(
                {"type": "signing_certificate_v2", "values": [{"certs": [ess_cert_id]}]}
            )
        )

    @functools.cached_property
    def _signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        rsa_key = isinstance(self.private_key, rsa.RSAPrivateKey)
        algorithm = "sha256_rsa" if rsa_key else "sha256_ecdsa"
        return _frozen(algos.SignedDigestAlgorithm({"algorithm": algorithm}))

    @functools.cached_property
    def _accuracy(self) -> tsp.Accuracy | None:
        if self.accuracy is None:
            return None
        micros_total = self.accuracy // datetime.timedelta(microseconds=1)
        seconds, rest = divmod(micros_total, 1_000_000)
        millis, micros = divmod(rest, 1000)
        parts = {"seconds": seconds, "millis": millis, "micros": micros}
        return _frozen(tsp.Accuracy({k: v for k, v in parts.items() if v}))


def _frozen(value: core.Asn1Value) -> core.Asn1Value:
    """``value`` re-read from its DER. asn1crypto re-encodes a value built from Python objects,
    and everything nested in it, on every dump, at a cost that grows steeply with the nesting
    (10 ms for the signing-certificate attribute); a value read from DER reuses its bytes."""
    return type(value).load(value.dump())


class TimestampResponse(core.Sequence):
    """RFC 3161's ``TimeStampResp``, its token optional as the RFC has it. asn1crypto's own
    declares the token mandatory (wbond/asn1crypto#286), so it can neither build nor read a
    rejection."""

    _fields = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


def timestamp_rejection(refused: TimestampRefused) -> bytes:
    """The DER ``TimeStampResp`` refusing a request: status rejection, the failInfo bit and the
    reason as statusString."""
    status = tsp.PKIStatusInfo(
        {
            "status": "rejection",
            "status_string": [refused.reason],
            "fail_info": tsp.PKIFailureInfo({refused.fail_info}),
        }
    )
    return TimestampResponse({"status": status}).dump()
