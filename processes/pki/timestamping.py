"""Timestamps: Sealflow's own RFC 3161 authority, and the timestamp client sealing uses.

The authority's key and certificate are a :class:`PkiAuthority` of kind ``tsa``, issued by the
issuing CA when the PKI is created. Each granted token takes its serial number from one insert
into ``tsa_serials`` (an autoincrement id: never the same twice, across processes and restarts),
which also records when, for which digest and for whom it was issued, and is recorded in the
audit log. Rejected requests use no serial number and write nothing.

Outside clients reach the authority over HTTP (``POST /tsa``). Sealflow's own jobs (sealing,
archive timestamps) ask it in-process through :func:`timestamper_for`: the same
:func:`timestamp`, in a short write transaction of its own, so a job never depends on reaching
its own server, nor on the limits ``/tsa`` puts on outside clients. An external TSA
(``SEALFLOW_TSA_URL``, with basic-auth credentials) is asked over HTTP instead.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, create_engine, event, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import signer
from processes import audit
from processes.db import begin_reading, configure_engine, unit_of_work
from processes.env import Env
from processes.errors import NotFound, msg
from processes.models import utcnow
from processes.pki import issued
from processes.pki_models import PkiAuthority, TsaSerial

if TYPE_CHECKING:
    from pyhanko.sign.timestamps import TimeStamper

logger = logging.getLogger(__name__)

TSA_TIMEOUT_SECONDS = 10.0
"""How long the sealing job waits for a timestamp before the seal fails (an external TSA's
answer; the built-in TSA's wait for a lock on PostgreSQL)."""

IN_PROCESS = "in-process"
"""The client the serial register names for a token Sealflow's own jobs got in-process."""

_lock = threading.Lock()
_authorities: dict[tuple[bytes, str], signer.TimestampAuthority] = {}
_timestampers: dict[tuple[str, str | None, str | None], TimeStamper] = {}
_in_process: dict[tuple[Engine | Connection, Env], TimeStamper] = {}
_engines: dict[Engine, Engine] = {}


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


def _certificates(session: Session) -> dict[str, bytes]:
    return dict(session.execute(
        select(PkiAuthority.kind, PkiAuthority.cert_pem)
        .where(PkiAuthority.kind.in_(("issuing", "tsa")))).tuples().all())


# _certificates as plain SQL, for the round trip that begins the built-in TSA's transaction
# on PostgreSQL (processes.db.begin_reading: text columns).
_CERTIFICATES_FIRST = ("SELECT kind, encode(cert_pem, 'hex') FROM pki_authorities "
                       "WHERE kind IN ('issuing', 'tsa')")


def authority(session: Session, env: Env,
              certs: dict[str, bytes] | None = None) -> signer.TimestampAuthority:
    """The organisation's timestamp authority, ready to sign: built (its key decrypted) once per
    process and certificate, then kept. ``certs``: the TSA's and the issuing CA's certificates
    by kind, when the caller read them already.

    :raises NotFound: there is no TSA yet (``sealflow init`` creates it).
    """
    if certs is None:
        certs = _certificates(session)
    cert_pem = certs.get("tsa")
    if cert_pem is None:
        raise NotFound(msg("the timestamp authority does not exist yet: run `sealflow init`"))
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


@dataclass(frozen=True)
class Accepted:
    """A request the authority will grant, checked, with what is needed to sign its token."""

    tsa: signer.TimestampAuthority
    request: signer.TimestampRequest
    client: str | None


@dataclass(frozen=True)
class Granted:
    """A serial number recorded for an accepted request: its row and audit event flushed."""

    serial: int
    at: datetime


def accept(session: Session, env: Env, request_der: bytes, *, client: str | None = None,
           certs: dict[str, bytes] | None = None) -> Accepted | bytes:
    """The first step of :func:`timestamp`, reading only: the request accepted, or the DER
    rejection (with its failInfo) for a request the authority cannot use. ``certs``: as for
    :func:`authority`.

    :raises NotFound: there is no TSA yet.
    """
    tsa = authority(session, env, certs)
    try:
        return Accepted(tsa, tsa.accept(request_der), client)
    except signer.TimestampRefused as refused:
        logger.info("timestamp request from %s refused: %s", client or "?", refused)
        return signer.timestamp_rejection(refused)


# The serial's row and, in the same statement, the audit chain's head the event then follows
# (SQLite and PostgreSQL both take a subquery in RETURNING): one statement fewer under the lock.
_SERIALS = cast(Table, TsaSerial.__table__)
_INSERT_SERIAL = insert(_SERIALS).returning(_SERIALS.c.id, audit.HEAD)  # Core: compiled once


def record(session: Session, accepted: Accepted) -> Granted:
    """The second step, writing: the next serial number and its ``tsa.timestamp_granted`` audit
    event, nothing else (the caller's write transaction holds the lock for these only)."""
    request, now = accepted.request, utcnow()
    imprint = request.digest.hex()
    serial, head = session.execute(_INSERT_SERIAL, {
        "issued_at": now, "hash_algorithm": request.hash_algorithm, "message_imprint": imprint,
        "client": accepted.client}).one()
    audit.remember_head(session, head)
    audit.record(session, "tsa.timestamp_granted", serial=serial,
                 hash_algorithm=request.hash_algorithm, message_imprint=imprint,
                 client=accepted.client)
    return Granted(serial, now)


def sign(accepted: Accepted, granted: Granted) -> bytes:
    """The last step, touching no database: the granted DER ``TimeStampResp`` (its genTime is
    the time recorded with the serial)."""
    reply = accepted.tsa.grant(accepted.request, serial=granted.serial, now=granted.at)
    logger.info("timestamp %d granted to %s", granted.serial, accepted.client or "?")
    return reply


def timestamp(session: Session, env: Env, request_der: bytes, *,
              client: str | None = None) -> bytes:
    """Answer a DER ``TimeStampReq`` with a DER ``TimeStampResp``: granted with the next serial
    number, or a rejection (with its failInfo) for a request the authority cannot use. Flushes the
    serial-number row; the caller commits (``POST /tsa``: the answer leaves after the commit).
    :func:`_issue` runs the same three steps in a transaction of its own (SQLite: two).

    :param client: the requester's address, recorded with the serial number.
    :raises NotFound: there is no TSA yet.
    """
    accepted = accept(session, env, request_der, client=client)
    if isinstance(accepted, bytes):
        return accepted
    return sign(accepted, record(session, accepted))


def timestamper_for(env: Env, session: Session | None = None) -> TimeStamper | None:
    """The timestamp client for sealing at :attr:`Env.pades_level` ``B-T``, or ``None`` for
    ``B-B``: the HTTP client of the external TSA at :attr:`Env.tsa_url`, or without one the
    built-in TSA, asked in-process on ``session``'s database. Kept for the life of the process,
    one per TSA URL and credentials, or per database (pyHanko asks each client for a sample
    token to size signatures).

    The built-in TSA records each token in a write transaction of its own: ask it with no write
    transaction open (the sealing job signs in a read-only one; on PostgreSQL in none).

    :raises ValueError: the built-in TSA is wanted and no ``session`` is given.
    """
    if env.pades_level != "B-T":
        return None
    if not env.tsa_url:
        if session is None:
            raise ValueError("the built-in TSA is asked on a database session: hand one in")
        return _in_process_timestamper(env, session.get_bind())
    key = (env.tsa_url, env.tsa_username, env.tsa_password)
    with _lock:
        client = _timestampers.get(key)
        if client is None:
            client = signer.http_timestamper(env.tsa_url, username=env.tsa_username,
                                             password=env.tsa_password,
                                             timeout=TSA_TIMEOUT_SECONDS)
            _timestampers[key] = client
    return client


def _in_process_timestamper(env: Env, engine: Engine | Connection) -> TimeStamper:
    key = (engine, env)
    with _lock:
        client = _in_process.get(key)
        if client is None:
            if len(_in_process) >= 8:  # apps come and go in tests; a server keeps one
                _in_process.clear()
            sessions = sessionmaker(bind=_own_engine(engine), expire_on_commit=False)
            client = signer.local_timestamper(functools.partial(_issue, sessions, env))
            _in_process[key] = client
    return client


def _own_engine(app_engine: Engine | Connection) -> Engine | Connection:
    """The built-in TSA's own engine on the app's database (called holding ``_lock``): a pool
    of its own, so a token never waits for a connection the app's requests hold, and lock waits
    bounded by :data:`TSA_TIMEOUT_SECONDS` (SQLite's busy timeout; PostgreSQL's lock_timeout,
    the audit chain's advisory lock included), after which the sealing job asks again later.
    Disposed with the app's engine. A connection, or an in-memory SQLite database, is shared."""
    if not isinstance(app_engine, Engine) or app_engine.url.database in (None, "", ":memory:"):
        return app_engine
    own = _engines.get(app_engine)
    if own is not None:
        return own
    sqlite = app_engine.dialect.name == "sqlite"
    dialect = app_engine.dialect
    own = create_engine(
        app_engine.url, pool_size=2, max_overflow=2, pool_timeout=TSA_TIMEOUT_SECONDS,
        json_serializer=getattr(dialect, "_json_serializer", None),
        json_deserializer=getattr(dialect, "_json_deserializer", None),
        connect_args={"timeout": TSA_TIMEOUT_SECONDS, "check_same_thread": False}
        if sqlite else {})
    configure_engine(own, busy_timeout=TSA_TIMEOUT_SECONDS, lock_timeout=TSA_TIMEOUT_SECONDS)

    @event.listens_for(app_engine, "engine_disposed")
    def _dispose(_engine: Engine) -> None:
        with _lock:
            _engines.pop(app_engine, None)
            for key in [k for k in _in_process if k[0] is app_engine]:
                del _in_process[key]
        own.dispose()

    _engines[app_engine] = own
    return own


def _accept_and_record(session: Session, env: Env,
                       request_der: bytes) -> tuple[Accepted, Granted] | bytes:
    """:func:`_issue`'s transactions: the request accepted, then its serial recorded; or the
    rejection, nothing written and no serial drawn."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        # SQLite: the read before the writer's transaction, so that a refused request never
        # takes the write lock.
        with unit_of_work(session, write=False):
            accepted = accept(session, env, request_der, client=IN_PROCESS)
        if isinstance(accepted, bytes):
            return accepted
        with unit_of_work(session):
            return accepted, record(session, accepted)
    # PostgreSQL: one transaction, the certificates read in the round trip that begins it
    # (with its lock timeout: our own engine's). A refused request commits it having written
    # nothing: the serial is drawn by record's INSERT only.
    with unit_of_work(session):
        certs = {kind: bytes.fromhex(pem) for kind, pem in
                 begin_reading(session, _CERTIFICATES_FIRST)}
        if bind not in _engines.values():
            # A wait for a lock (the audit chain's) fails like a TSA that does not answer,
            # rather than stalling the job. Our own engine sets it as it begins (see
            # _own_engine); SQLite's busy timeout bounds it there.
            session.execute(text(f"SET LOCAL lock_timeout = {int(TSA_TIMEOUT_SECONDS * 1000)}"))
        accepted = accept(session, env, request_der, client=IN_PROCESS, certs=certs)
        if isinstance(accepted, bytes):
            return accepted
        return accepted, record(session, accepted)


def _issue(sessions: sessionmaker, env: Env, request_der: bytes) -> bytes:
    """One answer of the built-in TSA to Sealflow's own job: :func:`timestamp`'s steps in a short
    write transaction (the certificates read, an INSERT and the audit event; on SQLite the read
    comes before it), on a connection of its own; the token is signed after its commit, so the
    serial and its event are recorded before the token is used. The job's own transaction only
    reads, so neither waits for the other (PostgreSQL; SQLite in WAL mode).

    A token that cannot be signed once its serial is committed (the key unusable, say) leaves
    a serial granted with no token: it is logged and a ``tsa.timestamp_unsigned`` event says so
    (serials need be unique, not consecutive), and the job is told signing failed."""
    session = sessions()
    try:
        # The one unit of work the domain opens itself: separate ones by design (the guard in
        # tests/processes/test_transaction_boundaries.py allows them here only).
        done = _accept_and_record(session, env, request_der)
        if isinstance(done, bytes):
            return done  # the rejection
        accepted, granted = done
        try:
            return sign(accepted, granted)
        except Exception as exc:  # noqa: BLE001 - whatever it was, no token leaves
            logger.error("timestamp %d was recorded but could not be signed: %s",
                         granted.serial, exc)
            with unit_of_work(session):
                audit.record(session, "tsa.timestamp_unsigned", serial=granted.serial,
                             reason=str(exc) or type(exc).__name__)
            raise signer.SigningFailed(
                f"the timestamp authority could not sign token {granted.serial}") from exc
    except NotFound as exc:  # not a passing trouble: `sealflow init` makes it
        raise signer.SigningFailed(f"the timestamp authority could not answer: {exc.message}") \
            from None
    except SQLAlchemyError as exc:  # the database busy, say: the sealing job asks again later
        logger.warning("the built-in TSA could not record a token: %s", exc)
        raise signer.TimestampUnavailable(
            "the timestamp could not be recorded in the serial register", "not_recorded") \
            from None
    finally:
        session.close()
