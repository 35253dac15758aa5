"""The organisation's seals: keys, certificates, appearance, custodians, and ready signers."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import signer
from processes import audit
from processes.env import Env
from processes.errors import BadInput, InvalidContent, NotFound, msg
from processes.models import KeyStorage, Seal, SealStatus, User
from processes.pki import issued
from processes.pki.authorities import ca_certificates, ensure_pki

logger = logging.getLogger(__name__)


SYSTEM_SEAL_TYPE = "系统章"


def create_seal(session: Session, env: Env, name: str, *, seal_type: str = "合同专用章",
                custodians: list[User], actor: User | None = None, key_type: str = "rsa2048",
                key_storage: KeyStorage | str = KeyStorage.software,
                system: bool = False, external_ca: bool = False) -> Seal:
    """Make a seal: its key, a certificate from the issuing CA, and its round red image.

    ``key_storage="pkcs11"`` generates the key inside the configured HSM token, where it stays:
    the database gets the certificate and the key's label, no key. ``external_ca``: no
    certificate yet, but a certification request (``csr_pem``) for a CA outside Sealflow; the
    seal stays ``requested`` until its certificate is imported
    (:func:`processes.seals.external_ca.import_certificate`)."""
    name = (name or "").strip()
    if not name:
        raise BadInput(msg("a seal needs a name"))
    if not custodians and not system:
        raise BadInput(msg("a seal needs at least one custodian"))
    try:
        key_storage = KeyStorage(key_storage)
    except ValueError:
        raise BadInput(msg("key storage must be software or pkcs11, not '%(key_storage)s'",
                           key_storage=key_storage)) from None
    if key_type not in signer.KEY_TYPES:
        raise BadInput(msg("key type must be one of %(key_types)s",
                           key_types=', '.join(signer.KEY_TYPES)))
    _, issuing = ensure_pki(session, env)
    key_pem, key_label, public_key, sign = _new_key(env, key_storage, key_type)
    csr_pem = None
    try:
        if external_ca:
            csr_pem = signer.make_csr(public_key, sign, seal_name=name, org_name=env.org_name)
            cert_pem = b""
        else:
            cert_pem = _certify(env, issuing, name, public_key, key_label)
    except signer.SignerError as exc:
        raise InvalidContent(msg("the seal's key could not be certified: %(error)s",
                                 error=exc)) from None
    serial = signer.KeyMaterial(cert_pem, b"").serial_hex if cert_pem else ""
    appearance = signer.draw_seal(env.org_name, seal_type, font_path=env.cjk_font)
    seal = Seal(name=name, type=seal_type, system=system,
                status=SealStatus.requested if external_ca else SealStatus.active,
                cert_pem=cert_pem, key_pem=key_pem, csr_pem=csr_pem, key_storage=key_storage,
                key_label=key_label, certificate_serial=serial,
                appearance_pdf=appearance.pdf, appearance_png=appearance.png)
    seal.custodians = list(custodians)
    session.add(seal)
    session.flush()
    if cert_pem:
        issued.record(session, cert_pem, purpose="seal", seal_id=seal.id)
    audit.record(session, "seal.created", actor=actor, seal_id=seal.id, name=name,
                 type=seal_type, certificate_serial=serial or None,
                 custodians=[u.name for u in custodians], key_storage=key_storage.value,
                 key_type=key_type, certificate="requested from an external CA"
                 if external_ca else "organisation CA")
    logger.info("seal %d (%s) created, %s key %s", seal.id, name, key_storage.value,
                key_label or "in the database")
    return seal


def _certify(env: Env, issuing: signer.KeyMaterial, name: str, public_key,
             key_label: str | None) -> bytes:
    """A seal certificate from the issuing CA (naming the CRL and the OCSP responder), also
    stored beside the key in the HSM for a token key."""
    cert_pem = signer.certify_public_key(
        issuing, env.key_passphrase, public_key, seal_name=name, org_name=env.org_name,
        crl_url=f"{env.base_url}/pki/crl", ocsp_url=f"{env.base_url}/pki/ocsp")
    if key_label is not None:
        signer.store_certificate(pkcs11_config(env), key_label, cert_pem)
    return cert_pem


def _new_key(env: Env, storage: KeyStorage, key_type: str):
    """A new seal key: (encrypted PEM or b"", token label or None, public key, signer)."""
    if storage is KeyStorage.software:
        key = signer.generate_private_key(key_type)
        return (signer.encrypt_private_key(key, env.key_passphrase), None, key.public_key(),
                signer.software_signer(key))
    config = pkcs11_config(env)
    label = f"sealflow-{uuid.uuid4().hex}"
    try:
        public_key = signer.generate_key_in_token(config, label, key_type)
    except signer.SignerError as exc:
        raise InvalidContent(msg("the HSM could not make the seal's key: %(error)s",
                                 error=exc)) from None
    return b"", label, public_key, signer.token_signer(config, label, public_key)


def pkcs11_config(env: Env) -> signer.Pkcs11Config:
    """The HSM token seal keys go to, from ``SEALFLOW_PKCS11_*``.

    :raises BadInput: no token is configured."""
    if not env.pkcs11_token or not env.pkcs11_pin:
        raise BadInput(msg("no HSM is configured: set SEALFLOW_PKCS11_TOKEN and "
                           "SEALFLOW_PKCS11_PIN (and SEALFLOW_PKCS11_MODULE) to keep seal keys "
                           "in a PKCS#11 token"))
    return signer.Pkcs11Config(token_label=env.pkcs11_token, user_pin=env.pkcs11_pin,
                               module=env.pkcs11_module)


def ensure_system_seal(session: Session, env: Env) -> Seal:
    seal = session.execute(select(Seal).where(Seal.system.is_(True))).scalar_one_or_none()
    if seal is None:
        seal = create_seal(session, env, f"{env.org_name} Sealflow", seal_type=SYSTEM_SEAL_TYPE,
                           custodians=[], system=True)
    return seal


def get_seal(session: Session, seal_id: int, *, share: bool = False) -> Seal:
    """``share``: the row read as it stands now and held against a change of the seal to the
    end of the transaction (PostgreSQL ``FOR SHARE``; a SQLite writer holds the database), so
    that a request is not filed on a seal being suspended at that moment."""
    seal = session.get(Seal, seal_id, with_for_update={"read": True}, populate_existing=True) \
        if share else session.get(Seal, seal_id)
    if seal is None or seal.system:
        raise NotFound(msg("no seal %(seal_id)s", seal_id=seal_id))
    return seal


def listing(session: Session) -> list[Seal]:
    return list(session.execute(
        select(Seal).where(Seal.system.is_(False)).order_by(Seal.id)
        .options(selectinload(Seal.custodians))).scalars())


def names(session: Session) -> list[tuple[int, str]]:
    """Each seal's id and name (the choices of a filter): no keys, no custodians."""
    return [(i, n) for i, n in session.execute(
        select(Seal.id, Seal.name).where(Seal.system.is_(False)).order_by(Seal.id))]


def describe(seal: Seal) -> dict:
    return {"id": seal.id, "name": seal.name, "type": seal.type, "status": seal.status.value,
            "certificate_serial": seal.certificate_serial,
            "custodians": [u.name for u in seal.custodians]}


class _SignerCache:
    """Decrypting and checking a key costs tens of ms: keep ready signers per certificate."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[tuple[int, str], signer.SealSigner] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, seal: Seal, env: Env,
            chain_of: Callable[[], list[bytes]]) -> signer.SealSigner:
        key = (seal.id, seal.certificate_serial)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                return hit
        chain = chain_of()
        if seal.key_storage is KeyStorage.pkcs11:
            if not seal.key_label:
                raise signer.KeyUnavailable(f"seal {seal.id} has no PKCS#11 key label")
            try:
                config = pkcs11_config(env)
            except BadInput as exc:
                raise signer.KeyUnavailable(exc.message) from None
            ready = signer.pkcs11_seal_signer(config, seal.key_label, seal.cert_pem, chain)
        else:
            km = signer.KeyMaterial(seal.cert_pem, seal.key_pem)
            ready = signer.SealSigner.from_key_material(km, env.key_passphrase, chain=chain)
        with self._lock:
            self._items[key] = ready
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return ready


SIGNERS = _SignerCache()


def trust_roots(session: Session, env: Env) -> list[bytes]:
    """The roots a seal's signature may chain to: the organisation's, and those of the
    external CAs trusted to certify seals (``SEALFLOW_EXTERNAL_CA_ROOTS``)."""
    return ca_certificates(session)[:1] + list(env.external_ca_roots)


def signer_for(session: Session, env: Env, seal: Seal) -> signer.SealSigner:
    """The seal's ready signer. Its chain is read only to build one (a signer kept is for one
    certificate, whose issuers do not change): a seal signing again costs no query."""
    def chain_of() -> list[bytes]:
        # pyHanko wants the chain leaf-up: issuing CA, then root (or the external CA's chain).
        if seal.chain_pem:
            return [c.public_bytes(serialization.Encoding.PEM)
                    for c in x509.load_pem_x509_certificates(seal.chain_pem)]
        return list(reversed(ca_certificates(session)))

    return SIGNERS.get(seal, env, chain_of)


def change_appearance(session: Session, env: Env, seal: Seal, *, png: bytes | None = None,
                      serial: str | None = None, actor: User | None = None) -> Seal:
    """A new appearance: an uploaded PNG (transparency checked), or drawn again (with a
    serial number under the type, say). Recorded like every change of a seal."""
    if png is not None:
        try:
            appearance = signer.appearance_from_png(png)
        except signer.InvalidImage as exc:
            raise InvalidContent(str(exc), [{"field": "png", "message": str(exc)}]) from None
    else:
        appearance = signer.draw_seal(env.org_name, seal.type, serial=serial,
                                      font_path=env.cjk_font)
    seal.appearance_pdf, seal.appearance_png = appearance.pdf, appearance.png
    audit.record(session, "seal.appearance_changed", actor=actor, seal_id=seal.id,
                 source="upload" if png is not None else "drawn", serial=serial)
    return seal


def renew_certificate(session: Session, env: Env, seal: Seal, *,
                      actor: User | None = None) -> Seal:
    """A new certificate from the issuing CA for the seal's key (in the database or the HSM),
    valid from now. Documents sealed before keep their certificate; the CRL is untouched."""
    _, issuing = ensure_pki(session, env)
    old_serial = seal.certificate_serial
    public_key = signer.certificate_from_pem(seal.cert_pem).public_key()
    label = seal.key_label if seal.key_storage is KeyStorage.pkcs11 else None
    try:
        cert_pem = _certify(env, issuing, seal.name, public_key, label)
    except signer.SignerError as exc:
        raise InvalidContent(msg("the seal's key could not be certified again: %(error)s",
                                 error=exc)) from None
    seal.cert_pem = cert_pem
    seal.certificate_serial = signer.KeyMaterial(cert_pem, b"").serial_hex
    issued.record(session, cert_pem, purpose="seal", seal_id=seal.id)
    audit.record(session, "seal.certificate_renewed", actor=actor, seal_id=seal.id,
                 old_serial=old_serial, certificate_serial=seal.certificate_serial)
    return seal


def change_custodians(session: Session, seal: Seal, custodians: list[User], *,
                      actor: User | None = None) -> Seal:
    """Hand the seal to other custodians (at least one, all active)."""
    if not custodians:
        raise BadInput(msg("a seal needs at least one custodian"))
    inactive = [u.name for u in custodians if not u.active]
    if inactive:
        raise BadInput(msg("inactive users cannot keep a seal: %(inactive)s",
                           inactive=', '.join(inactive)))
    before = [u.name for u in seal.custodians]
    seal.custodians = sorted(set(custodians), key=lambda u: u.name)
    audit.record(session, "seal.custodians_changed", actor=actor, seal_id=seal.id,
                 before=before, after=[u.name for u in seal.custodians])
    return seal
