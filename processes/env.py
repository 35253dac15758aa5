"""The settings the domain needs, handed in by the caller (never read from Flask or os.environ)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Env:
    data_dir: Path
    """Where documents are stored (``documents/``) next to the SQLite database."""
    key_passphrase: bytes = field(repr=False)
    """Encrypts every private key at rest. A secret: never logged."""
    org_name: str
    """On the CA, the seal certificates and the seal images."""
    base_url: str
    """For links in certificates (CRL distribution point)."""
    max_document_bytes: int = 50 * 1024 * 1024
    max_bpmn_bytes: int = 2 * 1024 * 1024
    cjk_font: str | None = None
    lease_seconds: int = 300
    pkcs11_module: str = "/usr/lib/softhsm/libsofthsm2.so"
    """The PKCS#11 module (shared library) of the HSM that holds ``pkcs11`` seal keys."""
    pkcs11_token: str | None = None
    """Label of the token that holds them; ``None``: no HSM, software keys only."""
    pkcs11_pin: str | None = field(default=None, repr=False)
    """The token's user PIN. A secret: never logged."""
    pades_level: str = "B-T"
    """``B-T``: every seal carries an RFC 3161 timestamp (see :attr:`tsa_url`); ``B-B``: none."""
    tsa_url: str = ""
    """An external TSA the sealing job asks over HTTP; empty means Sealflow's own, asked
    in-process (never over HTTP, so the job needs no route to its own server)."""
    tsa_username: str | None = None
    """HTTP basic-auth user for :attr:`tsa_url` (an external TSA that wants credentials)."""
    tsa_password: str | None = field(default=None, repr=False)
    """The password that goes with :attr:`tsa_username`. A secret: never logged."""
    tsa_policy: str | None = None
    """The policy OID the built-in TSA names in its tokens; ``None`` for Sealflow's default."""
    tsa_retries: int = 5
    """How many times the sealing job asks again for a timestamp it could not have (the TSA
    unreachable, slow, busy); the request stays ``authorized`` meanwhile."""
    tsa_retry_base_seconds: float = 30.0
    """The wait before the first of those tries; each next one waits twice as long..."""
    tsa_retry_max_seconds: float = 600.0
    """...but never longer than this."""
    retention_years: int = 30
    """How long the archive keeps a document whose business type sets no retention."""
    external_ca_roots: tuple[bytes, ...] = ()
    """PEM root certificates of the CAs outside Sealflow trusted to certify seals."""
