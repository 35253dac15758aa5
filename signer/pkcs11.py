"""Seal keys held in a PKCS#11 token: an HSM, or SoftHSM2 for development and tests.

The private key is generated inside the token as sensitive and never extractable (see
:data:`PRIVATE_KEY_TEMPLATE`); Sealflow knows it only by its label. The certificate is stored
beside it, with the same label and ID, and signing happens in the token
(:mod:`signer.pkcs11_signer`).

Every call goes through the process's one session to the token (:mod:`signer.pkcs11_sessions`),
under the module's lock: the signatures of one process are serialised, a few milliseconds each.

The user PIN is a secret: it is never logged, never in an error message, never in a ``repr``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pkcs11
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    load_der_public_key,
)
from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from .der import spki_der
from .errors import KeyUnavailable, SignerError
from .keys import KEY_TYPES, PublicKey
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
        return public_key_of(public)

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
        public = token_object(session, ObjectClass.PUBLIC_KEY, label)
        if spki_der(public_key_of(public)) != spki_der(cert.public_key()):
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
        key = token_object(session, ObjectClass.PRIVATE_KEY, label)
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
        key = token_object(session, ObjectClass.PRIVATE_KEY, label)
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
            # python-pkcs11 gives a key made with WRAP its wrap_key at run time.
            wrapping.wrap_key(  # type: ignore[attr-defined]
                key, mechanism=pkcs11.Mechanism.AES_KEY_WRAP_PAD)
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


def token_object(session: pkcs11.Session, object_class: ObjectClass, label: str) -> Any:
    """The one object of ``object_class`` labelled ``label`` in the token."""
    found = list(session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: label}))
    kind = {ObjectClass.PRIVATE_KEY: "private key", ObjectClass.PUBLIC_KEY: "public key"}
    if len(found) != 1:
        what = kind.get(object_class, "object")
        many = "no" if not found else f"{len(found)}"
        raise KeyUnavailable(f"the token holds {many} {what} labelled {label!r}")
    return found[0]


def public_key_of(obj: Any) -> PublicKey:
    """A token's public key object as a :mod:`cryptography` key."""
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


def _check_label(label: str) -> None:
    if not label or len(label.encode()) > 64:
        raise ValueError("a PKCS#11 label must be 1 to 64 bytes of UTF-8")


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes([0x02, len(body)]) + body
