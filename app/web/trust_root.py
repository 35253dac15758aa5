"""The organisation's root certificate as the pages show it, for the partial
``_trust_root.html`` (the verify page and a sealed request's page): how to make pdfsig or a PDF
reader trust the seals, which they otherwise call "issuer not trusted"."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from flask import g

import signer
from app.extensions import db
from app.web import blueprint
from processes.pki import authorities


@blueprint.app_template_global()
def trust_root() -> dict | None:
    """``{subject, fingerprint, not_after}`` of the root CA (the fingerprint SHA-256, as
    ``AB:CD:...``), or None before ``sealflow init``; read once per request."""
    if "trust_root" not in g:
        pems = authorities.ca_certificates(db.session)
        g.trust_root = _describe(pems[0]) if pems else None
    return g.trust_root


def _describe(pem: bytes) -> dict:
    cert = signer.certificate_from_pem(pem)
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return {"subject": cert.subject.rfc4514_string(),
            "fingerprint": ":".join(digest[i:i + 2] for i in range(0, len(digest), 2)),
            "not_after": cert.not_valid_after_utc}
