"""Seal keys held in a PKCS#11 token: an HSM, or SoftHSM2 for development and tests.

The private key is generated inside the token as sensitive and never extractable (see
:data:`PRIVATE_KEY_TEMPLATE`); Sealflow knows it only by its label. The certificate is stored
beside it, with the same label and ID, and signing happens in the token through a pyHanko
:class:`~pyhanko.sign.signers.Signer`.

Every call goes through the process's one session to the token (:mod:`signer.pkcs11_sessions`),
under the module's lock: the signatures of one process are serialised, a few milliseconds each.

The user PIN is a secret: it is never logged, never in an error message, never in a ``repr``.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pkcs11
from asn1crypto import x509 as asn1_x509
from asn1crypto.algos import SignedDigestAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.pkcs11 import select_pkcs11_signing_params
from pyhanko_certvalidator.registry import SimpleCertificateStore

from .cached_signer import SigningCertificateOnce
from .errors import KeyUnavailable, SignerError
from .keys import KEY_TYPES, PublicKey
from .pades import SealSigner
from .pkcs11_sessions import run_in_token
from .pki import certificate_from_pem

__all__ = [
    "DEFAULT_MODULE",
    "PRIVATE_KEY_TEMPLATE",
    "KeyProtection",
    "Pkcs11Config",
    "export_private_key",
    "generate_key_in_token",
    "key_protection",
    "pkcs11_seal_signer",
    "sign_in_token",
    "store_certificate",
]

logger = logging.getLogger(__name__)

DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
"""Debian's SoftHSM2 module (package ``softhsm2``)."""

PRIVATE_KEY_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
"""How a seal key is made: a token object, readable only after login, whose secret parts the
token never reveals (``SENSITIVE``) and never wraps out (``EXTRACTABLE`` false), good for signing
and nothing else. The token then sets ``LOCAL``, ``ALWAYS_SENSITIVE`` and ``NEVER_EXTRACTABLE``,
which no later change can undo."""

_PUBLIC_KEY_TEMPLATE: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: False,
    Attribute.VERIFY: True,
    Attribute.ENCRYPT: False,
    Attribute.WRAP: False,
}

_RSA_BITS = {"rsa2048": 2048, "rsa3072": 3072}

_CMS_OVERHEAD = 2048
"""Bytes allowed, beyond certificates and the raw signature, for the rest of the CMS structure
(as in :mod:`signer.pades`)."""


@dataclass(frozen=True)
class Pkcs11Config:
    """Where the seal keys of an HSM live, and how to log in to it."""

    token_label: str
    """The token's label. Tokens are chosen by label: slot numbers change (SoftHSM2 moves a token
    to a new slot when it is initialised)."""

    user_pin: str = field(repr=False)
    """The user (CKU_USER) PIN. A secret: never logged, never shown."""

    module: str = DEFAULT_MODULE
    """Path of the vendor's PKCS#11 module (a shared library)."""

    def __post_init__(self) -> None:
        if not self.token_label:
            raise ValueError("a PKCS#11 token label is required")
        if not self.user_pin:
            raise ValueError("a PKCS#11 user PIN is required")


@dataclass(frozen=True)
class KeyProtection:
    """What the token says about a private key (its PKCS#11 attributes)."""

    sensitive: bool
    """``CKA_SENSITIVE``: the token never reveals the key's secret parts."""

    always_sensitive: bool
    """``CKA_ALWAYS_SENSITIVE``: it has been sensitive since it was made."""

    extractable: bool
    """``CKA_EXTRACTABLE``: the key may be wrapped out of the token."""

    never_extractable: bool
    """``CKA_NEVER_EXTRACTABLE``: it has never been extractable."""

    local: bool
    """``CKA_LOCAL``: the token generated it (it was not imported)."""

    token: bool
    """``CKA_TOKEN``: a persistent token object, not a session object."""

    @property
    def held_in_token(self) -> bool:
        """True if the key was born in the token and can never have left it."""
        return (
            self.sensitive
            and self.always_sensitive
            and not self.extractable
            and self.never_extractable
            and self.local
            and self.token
        )


def generate_key_in_token(config: Pkcs11Config, label: str, key_type: str = "rsa2048") -> PublicKey:
    """Generate a seal key pair inside the token, under ``label``.

    :param key_type: ``"rsa2048"``, ``"rsa3072"`` or ``"p256"`` (ECDSA P-256).
    :return: the public key, as a :mod:`cryptography` object (to be certified).
    :raises ValueError: an unknown key type, or the token already holds an object so labelled.
    :raises KeyUnavailable: the token cannot be reached or refuses.
    """
    if key_type not in KEY_TYPES:
        raise ValueError(f"unknown key type {key_type!r}; use one of {', '.join(KEY_TYPES)}")
    _check_label(label)

    def generate(session: pkcs11.Session) -> PublicKey:
        if list(session.get_objects({Attribute.LABEL: label})):
            raise ValueError(f"the token already holds an object labelled {label!r}")
        options: dict[str, Any] = {
            "id": secrets.token_bytes(16),
            "label": label,
            "store": True,
            "capabilities": MechanismFlag.SIGN | MechanismFlag.VERIFY,
            "public_template": _PUBLIC_KEY_TEMPLATE,
            "private_template": PRIVATE_KEY_TEMPLATE,
        }
        if key_type in _RSA_BITS:
            public, _ = session.generate_keypair(KeyType.RSA, _RSA_BITS[key_type], **options)
        else:
            params = session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            public, _ = params.generate_keypair(**options)
        return _public_key(public)

    key = run_in_token(config, generate, f"generate a {key_type} key")
    logger.info("generated %s key %r in PKCS#11 token %r", key_type, label, config.token_label)
    return key


def store_certificate(config: Pkcs11Config, label: str, cert_pem: bytes) -> None:
    """Store the key's certificate in the token beside it, with the key's label and ID.

    :raises KeyUnavailable: no key pair ``label`` in the token, the certificate is for another
        key, or the token refuses.
    """
    cert = certificate_from_pem(cert_pem)

    def store(session: pkcs11.Session) -> None:
        public = _one(session, ObjectClass.PUBLIC_KEY, label)
        if _spki(_public_key(public)) != _spki(cert.public_key()):
            raise KeyUnavailable(
                f"certificate {cert.serial_number:x} is not for the key {label!r} in the token"
            )
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: pkcs11.CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.PRIVATE: False,
                Attribute.LABEL: label,
                Attribute.ID: public[Attribute.ID],
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.ISSUER: cert.issuer.public_bytes(),
                Attribute.SERIAL_NUMBER: _der_integer(cert.serial_number),
                Attribute.VALUE: cert.public_bytes(Encoding.DER),
            }
        )

    run_in_token(config, store, "store a certificate")
    logger.info(
        "stored certificate %x beside key %r in PKCS#11 token %r",
        cert.serial_number,
        label,
        config.token_label,
    )


def key_protection(config: Pkcs11Config, label: str) -> KeyProtection:
    """Read the protection attributes of the private key ``label``.

    :raises KeyUnavailable: no such key, or the token cannot be reached.
    """

    def read(session: pkcs11.Session) -> KeyProtection:
        key = _one(session, ObjectClass.PRIVATE_KEY, label)
        return KeyProtection(
            sensitive=bool(key[Attribute.SENSITIVE]),
            always_sensitive=bool(key[Attribute.ALWAYS_SENSITIVE]),
            extractable=bool(key[Attribute.EXTRACTABLE]),
            never_extractable=bool(key[Attribute.NEVER_EXTRACTABLE]),
            local=bool(key[Attribute.LOCAL]),
            token=bool(key[Attribute.TOKEN]),
        )

    return run_in_token(config, read, "read a key's attributes")


def export_private_key(config: Pkcs11Config, label: str) -> NoReturn:
    """Try to get the private key ``label`` out of the token, as an attacker holding the PIN
    would: read its secret value, then wrap it under a fresh AES key; report the refusal.

    Never returns key material: if the token hands anything over, that is discarded and reported
    as an error too.

    :raises KeyUnavailable: the token refused both (``CKR_ATTRIBUTE_SENSITIVE`` and
        ``CKR_KEY_UNEXTRACTABLE``), as it does for every key made by
        :func:`generate_key_in_token`; or there is no such key.
    :raises SignerError: the token gave the key out in one of the two ways, so it is not
        protected; or an attempt failed for another reason, so nothing is proven.
    """

    def attempt(session: pkcs11.Session) -> NoReturn:
        key = _one(session, ObjectClass.PRIVATE_KEY, label)
        secret = Attribute.PRIVATE_EXPONENT if key.key_type == KeyType.RSA else Attribute.VALUE
        try:
            key[secret]
        except pkcs11.exceptions.AttributeSensitive:
            pass
        except pkcs11.exceptions.PKCS11Error as e:
            raise SignerError(
                f"reading the private key {label!r} failed ({type(e).__name__}), "
                "so its protection is unproven"
            ) from None
        else:
            raise SignerError(f"the token revealed the private key {label!r}: it is not sensitive")
        wrapping = session.generate_key(
            KeyType.AES,
            256,
            store=False,
            capabilities=MechanismFlag.WRAP,
            template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
        )
        try:
            wrapping.wrap_key(key, mechanism=pkcs11.Mechanism.AES_KEY_WRAP_PAD)
        except pkcs11.exceptions.KeyUnextractable:
            pass
        except pkcs11.exceptions.PKCS11Error as e:
            raise SignerError(
                f"wrapping the private key {label!r} failed ({type(e).__name__}), "
                "so its protection is unproven"
            ) from None
        else:
            raise SignerError(f"the token wrapped out the private key {label!r}: it is extractable")
        finally:
            wrapping.destroy()
        raise KeyUnavailable(
            f"the token refuses to export the private key {label!r}: it is sensitive and "
            "not extractable"
        )

    run_in_token(config, attempt, "export a private key")


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
        lambda session: _public_key(_one(session, ObjectClass.PUBLIC_KEY, label)),
        "read a public key",
    )
    if _spki(public) != _spki(cert.public_key()):
        raise KeyUnavailable(
            f"certificate {cert.serial_number:x} is not for the key {label!r} in the token"
        )
    chain_certs = [c for pem in chain for c in x509.load_pem_x509_certificates(pem)]
    registry = SimpleCertificateStore()
    registry.register_multiple(_asn1(c) for c in chain_certs)
    token_signer = _TokenSigner(config, label, _asn1(cert), registry)
    cert_bytes = sum(len(c.public_bytes(Encoding.DER)) for c in [cert, *chain_certs])
    reserved = 2 * (cert_bytes + _max_signature_size(public) + _CMS_OVERHEAD)
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
        self._size = _max_signature_size(
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
        key = _one(session, ObjectClass.PRIVATE_KEY, label)
        return key.sign(data, **spec.sign_kwargs)

    signature = run_in_token(config, sign, "sign")
    if spec.post_sign_transform is not None:
        signature = spec.post_sign_transform(signature)
    return signature


def _one(session: pkcs11.Session, object_class: ObjectClass, label: str) -> Any:
    found = list(session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: label}))
    kind = {ObjectClass.PRIVATE_KEY: "private key", ObjectClass.PUBLIC_KEY: "public key"}
    if len(found) != 1:
        what = kind.get(object_class, "object")
        many = "no" if not found else f"{len(found)}"
        raise KeyUnavailable(f"the token holds {many} {what} labelled {label!r}")
    return found[0]


def _public_key(obj: Any) -> PublicKey:
    if obj.key_type == KeyType.RSA:
        return rsa.RSAPublicNumbers(
            int.from_bytes(obj[Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(obj[Attribute.MODULUS], "big"),
        ).public_key()
    if obj.key_type == KeyType.EC:
        key = load_der_public_key(encode_ec_public_key(obj))
        if isinstance(key, ec.EllipticCurvePublicKey):
            return key
    raise KeyUnavailable(f"the token's key is of an unusable type ({obj.key_type!r})")


def _max_signature_size(public: PublicKey) -> int:
    """Upper bound of a raw signature's length: the RSA modulus, or a DER ECDSA-Sig-Value."""
    if isinstance(public, rsa.RSAPublicKey):
        return (public.key_size + 7) // 8
    integer = 2 + (public.curve.key_size + 7) // 8 + 1
    content = 2 * integer
    return content + (2 if content < 0x80 else 3)


def _check_label(label: str) -> None:
    if not label or len(label.encode()) > 64:
        raise ValueError("a PKCS#11 label must be 1 to 64 bytes of UTF-8")


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes([0x02, len(body)]) + body


def _spki(public_key: Any) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))
