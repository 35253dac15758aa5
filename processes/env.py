"""The settings the domain needs, handed in by the caller (never read from Flask or os.environ)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Env:
    data_dir: Path
    """Where documents are stored (``documents/``) next to the SQLite database."""
    key_passphrase: bytes
    """Encrypts every private key at rest."""
    org_name: str
    """On the CA, the seal certificates and the seal images."""
    base_url: str
    """For links in certificates (CRL distribution point)."""
    max_document_bytes: int = 50 * 1024 * 1024
    max_bpmn_bytes: int = 2 * 1024 * 1024
    cjk_font: str | None = None
    lease_seconds: int = 300
