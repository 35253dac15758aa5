"""The issuing CA's OCSP responder: the state of a certificate it signed, by serial number, from
the register of issued certificates and the seals' lifecycle (a revoked seal's certificates are
all revoked; a suspended seal's stay good, as on the CRL: suspension is Sealflow's, not the
PKI's)."""

from __future__ import annotations

import threading

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

import signer
from processes.env import Env
from processes.errors import NotFound, msg
from processes.pki import revocation
from processes.pki_models import IssuedCertificate, PkiAuthority
from signer import CertificateState, OcspAnswer, PrivateKey, answer_ocsp

_KEYS: dict[bytes, tuple[x509.Certificate, PrivateKey]] = {}
_KEYS_LOCK = threading.Lock()


def _issuer(session: Session, env: Env):
    """The issuing CA's certificate and key, the key decrypted once per process."""
    row = session.execute(select(PkiAuthority.cert_pem, PkiAuthority.key_pem).where(
        PkiAuthority.kind == "issuing")).first()
    if row is None:
        raise NotFound(msg("the organisation CA does not exist yet: run `sealflow init`"))
    cert_pem, key_pem = bytes(row[0]), bytes(row[1])
    with _KEYS_LOCK:
        found = _KEYS.get(cert_pem)
    if found is None:
        material = signer.KeyMaterial(cert_pem, key_pem)
        found = (material.certificate(), material.private_key(env.key_passphrase))
        with _KEYS_LOCK:
            _KEYS[cert_pem] = found
    return found


def state_of(session: Session, serial: int) -> OcspAnswer:
    """Revoked as the CRL says (:func:`processes.pki.revocation.revoked_certificates`), else good
    if the issuing CA signed it, else unknown."""
    serial_hex = format(serial, "x")
    revoked = revocation.revoked_certificates(session, serial_hex)
    if revoked:
        return OcspAnswer(CertificateState.revoked, revoked_at=revoked[0][1],
                          reason=x509.ReasonFlags.key_compromise)
    issued = session.execute(select(IssuedCertificate.id).where(
        IssuedCertificate.serial == serial_hex)).first()
    return OcspAnswer(CertificateState.good if issued else CertificateState.unknown)


def respond(session: Session, env: Env, request_der: bytes) -> bytes:
    """The DER OCSP response to a DER OCSP request (reads only)."""
    issuer, key = _issuer(session, env)
    return answer_ocsp(request_der, issuer, key, lambda serial: state_of(session, serial))
