"""Timestamps: Sealflow's own RFC 3161 authority (``POST /tsa``) and the sealing job's client.

The authority's key and certificate are a :class:`PkiAuthority` of kind ``tsa``, issued by the
issuing CA when the PKI is created. Each granted token takes its serial number from one insert
into ``tsa_serials`` (an autoincrement id: never the same twice, across processes and restarts),
which also records when, for which digest and for whom it was issued. Rejected requests use no
serial number and write nothing.

The sealing job reaches the authority over HTTP like any client would, through
:func:`timestamper_for`: one pyHanko HTTP client per TSA URL and process, so the built-in TSA and
an external one (``SEALFLOW_TSA_URL``, with basic-auth credentials) take the same code path.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import signer
from processes import audit, issued
from processes.env import Env
from processes.errors import NotFound
from processes.models import utcnow
from processes.pki_models import PkiAuthority, TsaSerial

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import TimeStamper

logger = logging.getLogger(__name__)

TSA_TIMEOUT_SECONDS = 10.0
"""How long the sealing job waits for a timestamp before the seal fails."""

_lock = threading.Lock()
_authorities: dict[tuple[bytes, str], signer.TimestampAuthority] = {}
_timestampers: dict[tuple[str, str | None, str | None], TimeStamper] = {}


def ensure_authority(session: Session, env: Env, issuing: signer.KeyMaterial) -> None:
    """Create the timestamp authority's key and certificate, issued by ``issuing``, unless the
    organisation already has one (idempotent)."""
    exists = session.execute(
        select(PkiAuthority.id).where(PkiAuthority.kind == "tsa")).first()
    if exists is not None:
        return
    km = signer.issue_tsa_certificate(issuing, env.key_passphrase, org_name=env.org_name,
                                      crl_url=f"{env.base_url}/pki/crl")
    session.add(PkiAuthority(kind="tsa", cert_pem=km.cert_pem, key_pem=km.key_pem))
    issued.record(session, km.cert_pem, purpose="tsa")
    session.flush()
    audit.record(session, "pki.tsa_created", tsa_serial=km.serial_hex)
    logger.info("timestamp authority created for %s, certificate %s", env.org_name,
                km.serial_hex)


def authority(session: Session, env: Env) -> signer.TimestampAuthority:
    """The organisation's timestamp authority, ready to sign: built (its key decrypted) once per
    process and certificate, then kept.

    :raises NotFound: there is no TSA yet (``sealflow init`` creates it).
    """
    certs = dict(session.execute(
        select(PkiAuthority.kind, PkiAuthority.cert_pem)
        .where(PkiAuthority.kind.in_(("issuing", "tsa")))).tuples().all())
    cert_pem = certs.get("tsa")
    if cert_pem is None:
        raise NotFound("the timestamp authority does not exist yet: run `sealflow init`")
    policy = env.tsa_policy or signer.DEFAULT_TSA_POLICY
    key = (cert_pem, policy)
    with _lock:
        ready = _authorities.get(key)
    if ready is not None:
        return ready
    key_pem = session.execute(
        select(PkiAuthority.key_pem).where(PkiAuthority.kind == "tsa")).scalar_one()
    chain = [certs["issuing"]] if "issuing" in certs else []
    ready = signer.TimestampAuthority.from_key_material(
        signer.KeyMaterial(cert_pem, key_pem), env.key_passphrase, chain, policy=policy)
    with _lock:
        if len(_authorities) >= 8:  # a rotated certificate leaves its old authority behind
            _authorities.clear()
        _authorities[key] = ready
    return ready


def timestamp(session: Session, env: Env, request_der: bytes, *,
              client: str | None = None) -> bytes:
    """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp``: granted with the next serial
    number, or a rejection (with its failInfo) for a request the authority cannot use. Flushes the
    serial-number row; the caller commits.

    :param client: the requester's address, recorded with the serial number.
    :raises NotFound: there is no TSA yet.
    """
    tsa = authority(session, env)
    try:
        request = tsa.accept(request_der)
    except signer.TimestampRefused as refused:
        logger.info("timestamp request from %s refused: %s", client or "?", refused)
        return signer.timestamp_rejection(refused)
    now = utcnow()
    serial = session.execute(
        insert(TsaSerial).values(issued_at=now, hash_algorithm=request.hash_algorithm,
                                 message_imprint=request.digest.hex(), client=client)
        .returning(TsaSerial.id)).scalar_one()
    reply = tsa.grant(request, serial=serial, now=now)
    logger.info("timestamp %d granted to %s", serial, client or "?")
    return reply


def timestamper_for(env: Env) -> TimeStamper | None:
    """The timestamp client for sealing at :attr:`Env.pades_level` ``B-T``, or ``None`` for
    ``B-B``. One per TSA URL and credentials, kept for the life of the process (pyHanko fetches a
    sample token per client to size signatures)."""
    if env.pades_level != "B-T":
        return None
    url = env.tsa_url or f"{env.base_url}/tsa"
    key = (url, env.tsa_username, env.tsa_password)
    with _lock:
        client = _timestampers.get(key)
        if client is None:
            client = signer.http_timestamper(url, username=env.tsa_username,
                                             password=env.tsa_password,
                                             timeout=TSA_TIMEOUT_SECONDS)
            _timestampers[key] = client
    return client
