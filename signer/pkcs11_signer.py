"""Signing with a seal key held in a PKCS#11 token (:mod:`signer.pkcs11` makes and keeps the
keys): a pyHanko :class:`~pyhanko.sign.signers.Signer` whose key never leaves the token."""

from __future__ import annotations

from collections.abc import Sequence

import pkcs11
from asn1crypto import x509 as asn1_x509
from asn1crypto.algos import SignedDigestAlgorithm
from cryptography.hazmat.primitives.serialization import load_der_public_key
from pkcs11 import ObjectClass
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.pkcs11 import select_pkcs11_signing_params
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .cached_signer import SigningCertificateOnce, max_signature_size
from .der import asn1_certificate, spki_der
from .errors import KeyUnavailable
from .pades import SealSigner, chain_and_room
from .pkcs11 import Pkcs11Config, public_key_of, token_object
from .pkcs11_sessions import run_in_token
from .pki import certificate_from_pem

__all__ = ["pkcs11_seal_signer", "sign_in_token"]


def pkcs11_seal_signer(
    config: Pkcs11Config, label: str, cert_pem: bytes, chain: Sequence[bytes] = ()
) -> SealSigner:
    """A :class:`~signer.SealSigner` that signs with the private key ``label`` in the token.

    :param cert_pem: the seal certificate, PEM; it must certify the token's key ``label``.
    :param chain: the PEM certificates of the issuing CA and the root, embedded in every signature.
    :raises KeyUnavailable: no such key in the token, the certificate is for another key, or the
        token cannot be reached.
    """
    cert = certificate_from_pem(cert_pem)
    public = run_in_token(
        config,
        lambda session: public_key_of(token_object(session, ObjectClass.PUBLIC_KEY, label)),
        "read a public key",
    )
    if spki_der(public) != spki_der(cert.public_key()):
        raise KeyUnavailable(
            f"certificate {cert.serial_number:x} is not for the key {label!r} in the token"
        )
    registry, reserved = chain_and_room(cert, chain, public)
    token_signer = _TokenSigner(config, label, asn1_certificate(cert), registry)
    return SealSigner(token_signer, bytes_reserved=reserved)  # type: ignore[arg-type]


class _TokenSigner(SigningCertificateOnce, signers.Signer):
    """A pyHanko signer whose private key stays in a PKCS#11 token.

    Like :class:`pyhanko.sign.pkcs11.PKCS11Signer` (whose mechanism choice it uses), but it holds
    no session of its own: each signature borrows the process's session to the token under the
    module's lock, so one signer may be shared by threads and outlives a reopened session.
    """

    def __init__(
        self,
        config: Pkcs11Config,
        label: str,
        signing_cert: asn1_x509.Certificate,
        cert_registry: SimpleCertificateStore,
    ):
        super().__init__(signing_cert=signing_cert, cert_registry=cert_registry)
        self._config = config
        self._label = label
        # SoftHSM2 (and many HSMs) offer ECDSA only as the raw mechanism over a digest.
        self._raw = signing_cert.public_key.algorithm == "ec"
        self._size = max_signature_size(
            load_der_public_key(signing_cert.public_key.dump())  # type: ignore[arg-type]
        )

    def __repr__(self) -> str:
        return f"<_TokenSigner {self._label!r} in token {self._config.token_label!r}>"

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if dry_run:
            return bytes(self._size)
        try:
            return sign_in_token(self._config, self._label, data,
                                 self.get_signature_mechanism_for_digest(digest_algorithm),
                                 digest_algorithm.lower(), raw=self._raw)
        except KeyUnavailable as e:
            raise SigningError(str(e)) from None


def sign_in_token(config: Pkcs11Config, label: str, data: bytes,
                  mechanism: SignedDigestAlgorithm, digest_algorithm: str = "sha256", *,
                  raw: bool = False) -> bytes:
    """Sign ``data`` with the token's key ``label`` (hashing on the host first when ``raw``,
    as SoftHSM2 and many HSMs offer ECDSA only over a digest); an ECDSA signature comes back
    DER-encoded, as in CMS and X.509.

    :raises KeyUnavailable: no such key, or the token refuses.
    """
    spec = select_pkcs11_signing_params(mechanism, digest_algorithm, use_raw_mechanism=raw,
                                        sign_kwargs={})
    if spec.pre_sign_transform is not None:
        data = spec.pre_sign_transform(data)

    def sign(session: pkcs11.Session) -> bytes:
        key = token_object(session, ObjectClass.PRIVATE_KEY, label)
        return key.sign(data, **spec.sign_kwargs)

    signature = run_in_token(config, sign, "sign")
    if spec.post_sign_transform is not None:
        signature = spec.post_sign_transform(signature)
    return signature
