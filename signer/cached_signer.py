"""A pyHanko signer that parses its private key once.

pyHanko's :class:`~pyhanko.sign.signers.SimpleSigner` turns its key back into a
:mod:`cryptography` object on every :meth:`sign_raw`, and :meth:`PdfSigner.sign_pdf` signs twice
(a dry run to size the signature, then the real one). For RSA that parsing, with its key check,
is most of the time a seal takes. :class:`CachedKeySigner` parses the key when it is built and
answers dry runs without signing at all.

:class:`SigningCertificateOnce` (for this signer and the PKCS#11 one) builds the
signing-certificate-v2 attribute once per certificate instead of once per signature.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from asn1crypto.algos import SignedDigestAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign import attributes, signers
from pyhanko.sign.general import SigningError, as_signing_certificate_v2
from pyhanko_certvalidator.registry import CertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from .keys import PrivateKey, PublicKey

__all__ = ["CachedKeySigner", "SigningCertificateOnce", "max_signature_size"]

logger = logging.getLogger(__name__)


def max_signature_size(key: PrivateKey | PublicKey) -> int:
    """An upper bound on the length of a raw signature made with ``key``, in bytes.

    RSA signatures are exactly as long as the modulus. An ECDSA signature is the DER
    ``SEQUENCE { INTEGER r, INTEGER s }``, each integer at most one byte longer than the curve
    order (a leading zero) plus its tag and length.
    """
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return (key.key_size + 7) // 8
    integer = _der_length((key.curve.key_size + 7) // 8 + 1)
    return _der_length(2 * integer)


def _der_length(content: int) -> int:
    """Length of a DER TLV whose contents are ``content`` bytes long."""
    if content < 0x80:
        header = 2
    else:
        header = 2 + (content.bit_length() + 7) // 8
    return header + content


class _LoadedSigningCertificateV2(attributes.SigningCertificateV2Provider):
    def __init__(self, signing_cert: asn1_x509.Certificate, der: bytes):
        super().__init__(signing_cert)
        self._der = der

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return tsp.SigningCertificateV2.load(self._der)


class SigningCertificateOnce:
    """Mixin for pyHanko signers: the signing-certificate-v2 attribute, built once.

    asn1crypto encodes a structure built in Python again on every read of its contents (it never
    clears the "mutated" flag), and pyHanko's fresh attribute is read hundreds of times while the
    CMS is put together: about half the fixed cost of a signature. The same value loaded from
    DER is encoded once; the attribute's bytes are those pyHanko builds.
    """

    _signing_cert_v2: dict[bytes, bytes]

    def _signed_attr_providers(self, *args, **kwargs):
        cache = self.__dict__.setdefault("_signing_cert_v2", {})
        for provider in super()._signed_attr_providers(*args, **kwargs):  # type: ignore[misc]
            if type(provider) is attributes.SigningCertificateV2Provider:
                cert = provider.signing_cert
                der = cache.get(cert.sha256)
                if der is None:
                    der = cache[cert.sha256] = as_signing_certificate_v2(cert).dump()
                provider = _LoadedSigningCertificateV2(cert, der)
            yield provider


class CachedKeySigner(SigningCertificateOnce, signers.SimpleSigner):
    """A :class:`~pyhanko.sign.signers.SimpleSigner` holding an already parsed private key.

    Supports RSA (PKCS#1 v1.5, or PSS when ``prefer_pss``) and ECDSA. Build it directly:
    :meth:`SimpleSigner.load` always returns a plain :class:`SimpleSigner`.
    """

    def __init__(
        self,
        private_key: PrivateKey,
        signing_cert: asn1_x509.Certificate,
        cert_registry: CertificateStore,
        signature_mechanism: SignedDigestAlgorithm | None = None,
        prefer_pss: bool = False,
        embed_roots: bool = True,
        attribute_certs: Iterable | None = None,
    ):
        if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise TypeError("CachedKeySigner supports RSA and elliptic-curve keys only")
        # SimpleSigner keeps the key as PrivateKeyInfo; keep that attribute meaningful for any
        # code that reads it, but sign with the parsed key.
        signing_key = asn1_keys.PrivateKeyInfo.load(
            private_key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        super().__init__(
            signing_cert=signing_cert,
            signing_key=signing_key,
            cert_registry=cert_registry,
            signature_mechanism=signature_mechanism,
            prefer_pss=prefer_pss,
            embed_roots=embed_roots,
            attribute_certs=attribute_certs,
        )
        self._private_key = private_key
        self._dry_run_size = max_signature_size(private_key)

    def __repr__(self) -> str:
        subject = self.signing_cert.subject.human_friendly if self.signing_cert else None
        return f"<CachedKeySigner {subject!r}>"

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            # Only the length matters to a dry run; zeros of the maximum length are a safe
            # stand-in (for ECDSA the real signature may come out a few bytes shorter).
            return bytes(self._dry_run_size)
        return self.sign_raw(data, digest_algorithm)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism_spec = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            mechanism = mechanism_spec.signature_algo
        except ValueError:
            mechanism = mechanism_spec["algorithm"].native
        key = self._private_key
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if mechanism == "rsassa_pss" and isinstance(key, rsa.RSAPrivateKey):
            padding, hash_algo = process_pss_params(mechanism_spec["parameters"])
            return key.sign(data, padding, hash_algo)
        if mechanism == "ecdsa" and isinstance(key, ec.EllipticCurvePrivateKey):
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        raise SigningError(f"signature mechanism {mechanism} does not fit a {type(key).__name__}")
