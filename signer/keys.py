"""Private keys: generation, encryption at rest (PKCS#8), and loading.

Software keys are only ever stored encrypted; :func:`private_key_from_bytes` refuses a key that is
not. Nothing here logs or formats key material.
"""

from __future__ import annotations

import logging
from os import PathLike
from typing import TypeAlias

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .errors import KeyUnavailable

__all__ = [
    "KEY_TYPES",
    "PrivateKey",
    "PublicKey",
    "encrypt_private_key",
    "generate_private_key",
    "private_key_from_bytes",
    "private_key_from_file",
]

logger = logging.getLogger(__name__)

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
"""The key types Sealflow signs with."""

PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
"""Their public halves."""

KEY_TYPES = ("rsa2048", "rsa3072", "p256")
"""The values accepted as ``key_type``."""

_RSA_BITS = {"rsa2048": 2048, "rsa3072": 3072}


def generate_private_key(key_type: str = "rsa2048") -> PrivateKey:
    """Generate a new private key: ``"rsa2048"``, ``"rsa3072"`` or ``"p256"`` (ECDSA P-256)."""
    if key_type in _RSA_BITS:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[key_type])
    if key_type == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key type {key_type!r}; use one of {', '.join(KEY_TYPES)}")


def encrypt_private_key(key: PrivateKey, passphrase: bytes) -> bytes:
    """Serialise ``key`` as an encrypted PKCS#8 PEM (``BEGIN ENCRYPTED PRIVATE KEY``)."""
    if not passphrase:
        raise ValueError("a non-empty passphrase is required to store a private key")
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase),
    )


def private_key_from_bytes(pem: bytes, passphrase: bytes) -> PrivateKey:
    """Decrypt an encrypted PKCS#8 PEM key.

    :raises KeyUnavailable: wrong passphrase, damaged or unencrypted PEM, or a key type other than
        RSA or elliptic curve.
    """
    if not passphrase:
        raise KeyUnavailable("no passphrase was given for the private key")
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except TypeError:
        # cryptography raises TypeError for an unencrypted key when a password is given.
        raise KeyUnavailable(
            "the private key is stored unencrypted; Sealflow only accepts encrypted keys"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        # The underlying message ("Bad decrypt. Incorrect password?" and the like) says nothing
        # more useful, and the chained exception is dropped so no parser state travels along.
        raise KeyUnavailable(
            "the private key could not be decrypted: wrong passphrase or damaged key"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyUnavailable(
            f"unsupported key type {type(key).__name__}; Sealflow signs with RSA or ECDSA keys"
        )
    return key


def private_key_from_file(path: str | PathLike[str], passphrase: bytes) -> PrivateKey:
    """Like :func:`private_key_from_bytes`, reading the PEM from ``path``."""
    with open(path, "rb") as f:
        return private_key_from_bytes(f.read(), passphrase)
