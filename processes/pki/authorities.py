"""The organisation's certification authorities (root and issuing CA) and the TSA's
certificate: created once, the root's key taken offline."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

import signer
from processes import audit
from processes.env import Env
from processes.errors import BadInput, msg
from processes.models import User
from processes.pki import timestamping
from processes.pki_models import PkiAuthority

logger = logging.getLogger(__name__)


def _authority(session: Session, kind: str) -> PkiAuthority | None:
    return session.execute(
        select(PkiAuthority).where(PkiAuthority.kind == kind)).scalar_one_or_none()


def ensure_pki(session: Session, env: Env) -> tuple[signer.KeyMaterial, signer.KeyMaterial]:
    """The root and issuing CA, and the timestamp authority, created on first use (idempotent)."""
    root, issuing = _authority(session, "root"), _authority(session, "issuing")
    if root is None or issuing is None:
        root_km, issuing_km = signer.create_ca_hierarchy(
            env.org_name, env.key_passphrase, root_crl_url=f"{env.base_url}/pki/root.crl")
        root = PkiAuthority(kind="root", cert_pem=root_km.cert_pem, key_pem=root_km.key_pem)
        issuing = PkiAuthority(kind="issuing", cert_pem=issuing_km.cert_pem,
                               key_pem=issuing_km.key_pem)
        session.add_all([root, issuing])
        session.flush()
        audit.record(session, "pki.created", root_serial=root_km.serial_hex,
                     issuing_serial=issuing_km.serial_hex)
        logger.info("organisation CA created for %s", env.org_name)
    issuing_km = signer.KeyMaterial(issuing.cert_pem, issuing.key_pem)
    timestamping.ensure_authority(session, env, issuing_km)
    return signer.KeyMaterial(root.cert_pem, root.key_pem), issuing_km


def root_key_online(session: Session) -> bool:
    root = _authority(session, "root")
    return root is not None and bool(root.key_pem)


def take_root_offline(session: Session, env: Env, *, actor: User | None = None) -> bytes:
    """Remove the root CA's key from the database and return it (encrypted PKCS#8, the
    configured passphrase): the caller writes it somewhere safe before committing. The issuing
    CA goes on issuing seal and TSA certificates; only a new issuing CA or the root's CRL need
    the root key again.

    :raises BadInput: the key is offline already.
    """
    ensure_pki(session, env)
    root = _authority(session, "root")
    assert root is not None  # ensure_pki made it
    if not root.key_pem:
        raise BadInput(msg("the root CA key is already offline"))
    key_pem = bytes(root.key_pem)
    root.key_pem = b""
    audit.record(session, "pki.root_offline", actor=actor,
                 root_serial=signer.KeyMaterial(root.cert_pem, b"").serial_hex)
    logger.info("root CA key taken offline")
    return key_pem


def ca_certificates(session: Session) -> list[bytes]:
    """PEM of the root and issuing CA certificates (root first); empty before ``init``."""
    # The certificates only: not the keys, nor the TSA's row.
    rows = dict(session.execute(
        select(PkiAuthority.kind, PkiAuthority.cert_pem)
        .where(PkiAuthority.kind.in_(("root", "issuing")))).tuples().all())
    return [rows[k] for k in ("root", "issuing") if k in rows]
