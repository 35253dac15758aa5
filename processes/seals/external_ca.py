"""Seals certified by a CA outside Sealflow: the seal is made with its key and a certification
request (``requested``); its custodians send the request to the CA and import the certificate it
issues, which is checked (the seal's key, valid now, a signing certificate, a path to a trusted
root) before the seal becomes ``active``."""

from __future__ import annotations

from cryptography import x509
from sqlalchemy.orm import Session

import signer
from processes import audit
from processes.env import Env
from processes.errors import InvalidContent, NotAllowed, NotFound, msg
from processes.models import KeyStorage, Seal, SealStatus, User
from processes.people.directory import Identity
from processes.seals import lifecycle, registry


def certification_request(session: Session, identity: Identity | None, seal: Seal) -> bytes:
    """The seal's certification request (PEM), for its custodians and seal admins.

    :raises NotFound: the seal was certified by the organisation CA (it has no request).
    """
    if identity is not None and not lifecycle.may_manage(session, identity, seal):
        raise NotAllowed(msg("only the seal's custodians and seal administrators manage it"))
    if not seal.csr_pem:
        raise NotFound(msg("seal %(seal)s was certified by the organisation CA: it has no "
                           "certification request", seal=seal.id))
    return seal.csr_pem


def import_certificate(session: Session, env: Env, identity: Identity | None, seal: Seal,
                       bundle: bytes) -> Seal:
    """Check the certificate an external CA issued for ``seal`` (PEM: the certificate, then
    the CA certificates) and make the seal ``active`` with it.

    :raises InvalidContent: the certificate is not the seal's, not valid now, not for signing,
        or no path reaches a trusted root (the message says which).
    """
    actor: User | None = identity.user if identity is not None else None
    if identity is not None and not lifecycle.may_manage(session, identity, seal):
        raise NotAllowed(msg("only the seal's custodians and seal administrators manage it"))
    if seal.status is not SealStatus.requested or not seal.csr_pem:
        raise InvalidContent(msg("seal %(seal)s is %(status)s and waits for no certificate",
                                 seal=seal.id, status=seal.status.value),
                             [{"field": "seal", "message": msg("no certificate awaited")}])
    public_key = x509.load_pem_x509_csr(seal.csr_pem).public_key()
    try:
        issued = signer.check_issued_certificate(bundle, public_key,
                                              registry.trust_roots(session, env))
    except signer.InvalidCertificate as exc:
        raise InvalidContent(str(exc), [{"field": "certificate", "message": str(exc)}]) \
            from None
    seal.cert_pem, seal.chain_pem = issued.cert_pem, issued.chain_pem
    seal.certificate_serial = format(issued.leaf.serial_number, "x")
    if seal.key_storage is KeyStorage.pkcs11 and seal.key_label:
        try:
            signer.store_certificate(registry.pkcs11_config(env), seal.key_label, seal.cert_pem)
        except signer.SignerError as exc:
            raise InvalidContent(msg("the HSM did not take the certificate: %(error)s",
                                     error=exc)) from None
    audit.record(session, "seal.certificate_imported", actor=actor, seal_id=seal.id,
                 certificate_serial=seal.certificate_serial,
                 issuer=issued.leaf.issuer.rfc4514_string())
    lifecycle.transition(session, seal, SealStatus.active, identity=identity,
                         reason=msg("certificate %(serial)s imported from %(issuer)s",
                                    serial=seal.certificate_serial,
                                    issuer=issued.leaf.issuer.rfc4514_string()))
    return seal

