"""Sealflow's own RFC 3161 timestamp authority: over HTTP (``POST /tsa``, limited for outside
clients) and in-process (the sealing job's), its serial numbers and audit events, and sealing at
B-T against it, in-process, directly over HTTP and as an "external" TSA that wants credentials."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from sqlalchemy import delete, select

import config
import signer
from app import create_app
from app.context import env
from app.extensions import db
from app.jobs import runner, seal_grant
from processes import audit_verify
from processes.db import CHAIN_LOCK, unit_of_work, write_intent
from processes.models import AuditEvent
from processes.pki import timestamping
from processes.pki_models import PkiAuthority, TsaSerial
from processes.requests import grant_leases
from tests.conftest import approve, install_pki, seal_one, sealed_bytes, submit
from tests.pdfcheck import assert_timestamped, timestamp_tokens

QUERY = "application/timestamp-query"


def _post(client, body: bytes, content_type: str = QUERY):
    return client.post("/tsa", data=body, content_type=content_type)


def _status(resp) -> dict:
    assert resp.status_code == 200, resp.data
    assert resp.mimetype == "application/timestamp-reply"
    return signer.TimestampResponse.load(resp.data)["status"].native


def _serial(reply_der: bytes) -> int:
    token = signer.TimestampResponse.load(reply_der)["time_stamp_token"]
    return token["content"]["encap_content_info"]["content"].parsed["serial_number"].native


def _rows(app) -> list:
    with app.app_context():
        rows = db.session.execute(
            select(TsaSerial.id, TsaSerial.issued_at, TsaSerial.hash_algorithm,
                   TsaSerial.message_imprint, TsaSerial.client).order_by(TsaSerial.id)).all()
        db.session.rollback()
        return rows


def _granted_events(app) -> dict[int, dict]:
    """The audit log's ``tsa.timestamp_granted`` events, by serial number."""
    with app.app_context():
        events = db.session.execute(select(AuditEvent.details).where(
            AuditEvent.action == "tsa.timestamp_granted")).scalars().all()
        db.session.rollback()
    return {e["serial"]: e for e in events}


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _in_process(app, **settings) -> None:
    """Seal at B-T with the built-in TSA (no SEALFLOW_TSA_URL)."""
    app.config.update(PADES_LEVEL="B-T", TSA_URL="", **settings)
    app.extensions.pop("sealflow_env", None)  # env() is rebuilt from the new settings


@pytest.fixture(params=["in-process", "http"])
def own_tsa(request, app):
    """Sealflow's own TSA for the sealing job: in-process, as it is by default, or over real
    HTTP (the live_tsa fixture: this server named as an external TSA)."""
    if request.param == "http":
        request.getfixturevalue("live_tsa")
    else:
        _in_process(app)
    return request.param


def _ask(app, client, query: bytes, how: str) -> bytes:
    """The TSA's DER answer to ``query``: over HTTP, or in-process as the sealing job asks."""
    if how == "http":
        resp = _post(client, query)
        assert _status(resp)["status"] == "granted"
        return resp.data
    with app.app_context():
        stamper = timestamping.timestamper_for(dataclasses.replace(env(), pades_level="B-T"),
                                               db.session)
        reply = asyncio.run(stamper.async_request_tsa_response(tsp.TimeStampReq.load(query)))
        db.session.rollback()
    return reply.dump()


@pytest.mark.parametrize("how", ["http", "in-process"])
def test_an_openssl_query_gets_a_token_openssl_verifies(app, client, ca_pems, pki_material,
                                                        tmp_path: Path, how):
    (tmp_path / "data.txt").write_bytes("采购合同 2026-001".encode())
    (tmp_path / "ca.pem").write_bytes(b"".join(ca_pems))
    subprocess.run(["openssl", "ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out",
                    "req.tsq"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    reply = _ask(app, client, (tmp_path / "req.tsq").read_bytes(), how)
    (tmp_path / "resp.tsr").write_bytes(reply)
    done = subprocess.run(["openssl", "ts", "-verify", "-queryfile", "req.tsq", "-in",
                           "resp.tsr", "-CAfile", "ca.pem"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr

    (row,) = _rows(app)
    assert _serial(reply) == row.id
    assert row.hash_algorithm == "sha256"
    assert row.message_imprint == hashlib.sha256("采购合同 2026-001".encode()).hexdigest()
    assert row.client == ("127.0.0.1" if how == "http" else timestamping.IN_PROCESS)
    assert _granted_events(app)[row.id] == {
        "serial": row.id, "hash_algorithm": "sha256", "message_imprint": row.message_imprint,
        "client": row.client}


def test_in_process_the_serial_and_its_event_are_committed_before_the_token_is_signed(
        app, client, monkeypatch):
    """The built-in TSA holds the write lock for the serial's row and its audit event only:
    the token is signed after they are committed (seen here from another connection)."""
    seen = []
    grant = signer.TimestampAuthority.grant

    def observed(tsa, request, *, serial, now=None):
        seen.append((serial, [row.id for row in _rows(app)], set(_granted_events(app))))
        return grant(tsa, request, serial=serial, now=now)

    monkeypatch.setattr(signer.TimestampAuthority, "grant", observed)
    reply = _ask(app, client, signer.timestamp_request(b"x"), "in-process")
    assert seen == [(_serial(reply), [_serial(reply)], {_serial(reply)})]


def test_in_process_a_token_that_cannot_be_signed_leaves_its_serial_marked_unsigned(
        app, client, monkeypatch):
    """Signing after the commit can still fail (the key unusable, say): the serial stays
    granted in the register, never to be used again, an audit event says no token left with
    it, and the sealing job is told signing failed (the request fails, not retried)."""
    def broken(*_args, **_kwargs):
        raise ValueError("the key is gone")

    monkeypatch.setattr(signer.TimestampAuthority, "grant", broken)
    with pytest.raises(signer.SigningFailed, match="could not sign token"):
        _ask(app, client, signer.timestamp_request(b"x"), "in-process")
    (row,) = _rows(app)
    assert set(_granted_events(app)) == {row.id}
    with app.app_context():
        unsigned = db.session.execute(select(AuditEvent.details).where(
            AuditEvent.action == "tsa.timestamp_unsigned")).scalars().all()
        assert audit_verify.verify(db.session)["ok"]
        db.session.rollback()
    assert unsigned == [{"serial": row.id, "reason": "the key is gone"}]
    monkeypatch.undo()
    assert _serial(_ask(app, client, signer.timestamp_request(b"y"), "in-process")) > row.id


def test_in_process_a_write_lock_held_elsewhere_is_waited_for_once_then_the_job_waits(
        app, client, monkeypatch):
    """Another writer holds the database's write lock (SQLite) or the audit chain's lock, as
    it does while it commits (PostgreSQL): the built-in TSA waits TSA_TIMEOUT_SECONDS for it,
    once, and the sealing job is told to try again later; nothing is recorded."""
    monkeypatch.setattr(timestamping, "TSA_TIMEOUT_SECONDS", 0.5)
    with app.app_context():
        with write_intent():
            holder = db.engine.connect()
            holder.begin()  # BEGIN IMMEDIATE on SQLite
            if holder.dialect.name == "postgresql":
                holder.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK})")
        try:
            started = time.monotonic()
            with pytest.raises(signer.TimestampUnavailable, match="serial register"):
                _ask(app, client, signer.timestamp_request(b"x"), "in-process")
            waited = time.monotonic() - started
        finally:
            holder.rollback()
            holder.close()
    assert 0.45 <= waited < 0.95, waited
    assert _rows(app) == []


@pytest.mark.parametrize(("body", "fail_info"), [
    (b"this is not DER", "bad_data_format"),
    (b"", "bad_data_format"),
    (signer.timestamp_request(b"x", hash_algorithm="sha256")[:-3], "bad_data_format"),
], ids=["not-der", "empty", "cut-short"])  # the cut request carries a random nonce
def test_a_malformed_request_gets_a_rejection_and_no_serial(app, client, body, fail_info):
    status = _status(_post(client, body))
    assert status["status"] == "rejection"
    assert status["fail_info"] == {fail_info}
    assert _rows(app) == []


def test_an_algorithm_the_tsa_does_not_take_is_bad_alg(client):
    request = tsp.TimeStampReq({"version": "v1", "message_imprint": {
        "hash_algorithm": {"algorithm": "sha1"}, "hashed_message": bytes(20)}}).dump()
    assert _status(_post(client, request))["fail_info"] == {"bad_alg"}


@pytest.mark.parametrize("content_type", ["application/octet-stream", "application/json",
                                          "text/plain", ""])
def test_the_wrong_content_type_is_415(app, client, content_type):
    resp = _post(client, signer.timestamp_request(b"x"), content_type)
    assert resp.status_code == 415
    assert resp.get_json()["error"]["code"] == "unsupported_media_type"
    assert _rows(app) == []


def test_an_oversized_body_is_413_and_get_is_405(client):
    resp = _post(client, b"0" * (64 * 1024 + 1))
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "too_large"
    assert client.get("/tsa").status_code == 405


def test_serials_increase_and_never_repeat_across_app_instances(app, client, tmp_path: Path):
    # A second app on the same database: another worker process, or the app after a restart.
    other = create_app(config.TestConfig(tmp_path / "other",
                                         app.config["SQLALCHEMY_DATABASE_URI"]))
    try:
        clients = [client, other.test_client()]
        serials = [_serial(_post(clients[n % 2], signer.timestamp_request(b"%d" % n)).data)
                   for n in range(10)]
        assert serials == sorted(set(serials))
        assert [row.id for row in _rows(app)] == serials
        # Even with the newest rows gone (a purge), a serial is never handed out again.
        with app.app_context(), unit_of_work(db.session):
            db.session.execute(delete(TsaSerial))
        after = _serial(_post(clients[1], signer.timestamp_request(b"later")).data)
        assert after > serials[-1]
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def test_public_and_csrf_exempt(tmp_path: Path, pki_material):
    settings = config.TestConfig(tmp_path)
    settings.WTF_CSRF_ENABLED = True
    csrf_app = create_app(settings)
    try:
        install_pki(csrf_app, pki_material)
        resp = _post(csrf_app.test_client(), signer.timestamp_request(b"x"))
        assert _status(resp)["status"] == "granted"
    finally:
        with csrf_app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_without_a_tsa_the_answer_is_404(app, client):
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(delete(PkiAuthority).where(PkiAuthority.kind == "tsa"))
    resp = _post(client, signer.timestamp_request(b"x"))
    assert resp.status_code == 404
    assert "sealflow init" in resp.get_json()["error"]["message"]


def test_init_creates_the_tsa_certificate_once(bare_app):
    runner = bare_app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init"])
        assert result.exit_code == 0, result.output
    with bare_app.app_context():
        rows = {a.kind: a for a in db.session.execute(select(PkiAuthority)).scalars()}
        assert sorted(rows) == ["issuing", "root", "tsa"]
        tsa_cert = x509.load_pem_x509_certificate(rows["tsa"].cert_pem)
        tsa_cert.verify_directly_issued_by(x509.load_pem_x509_certificate(rows["issuing"].cert_pem))
        eku = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
        assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
        assert b"ENCRYPTED PRIVATE KEY" in rows["tsa"].key_pem


def test_sealing_at_b_t_records_the_tokens_serial(org, pdf, app, own_tsa, trust_roots, ca_pems):
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    sealed = sealed_bytes(org, body["id"])
    assert_timestamped(sealed, trust_roots, ca_pems)
    ((token, covered),) = timestamp_tokens(sealed)
    info = cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed
    rows = {row.id: row for row in _rows(app)}
    row = rows[info["serial_number"].native]
    assert row.message_imprint == hashlib.sha256(covered).hexdigest()
    assert row.issued_at == info["gen_time"].native
    assert row.client == ("127.0.0.1" if own_tsa == "http" else timestamping.IN_PROCESS)
    assert _granted_events(app)[row.id]["message_imprint"] == row.message_imprint


def test_a_server_on_any_port_seals_at_b_t_with_no_base_url(org, pdf, app, trust_roots,
                                                            ca_pems):
    """Issue 10: `sealflow run --port 5123` without SEALFLOW_BASE_URL, so the base URL names a
    port where nothing listens, and no SEALFLOW_TSA_URL: the sealing job asks the built-in TSA
    in-process, and the seal is B-T with a token openssl and pyHanko accept."""
    _in_process(app, BASE_URL=f"http://127.0.0.1:{_unused_port()}")
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    (report,) = assert_timestamped(sealed_bytes(org, body["id"]), trust_roots, ca_pems)
    assert report.level == "B-T"
    # The sample token that sizes signatures and the seal's own: both registered.
    assert [row.client for row in _rows(app)] == [timestamping.IN_PROCESS] * 2


def test_without_a_tsa_in_process_sealing_fails_saying_so(org, pdf, app):
    _in_process(app)
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(delete(PkiAuthority).where(PkiAuthority.kind == "tsa"))
    body = seal_one(org, pdf)
    assert body["status"] == "failed", body
    assert "timestamp authority" in body["failure"] and "sealflow init" in body["failure"]
    assert _rows(app) == []


def test_anonymous_bursts_meet_the_limit_and_sealing_never_does(org, pdf, app, client,
                                                               live_tsa, trust_roots, ca_pems):
    """200 anonymous timestamps in a second no longer go through; and sealing more requests at
    once than the limit lets through ``/tsa``, with ``/tsa`` closed to anonymous callers, all
    seal with timestamps: the jobs never call the server (here it is served, at the base URL,
    so a job that did would meet the limit)."""
    app.config["TSA_RATE"] = "2/minute"
    answers = [_post(client, signer.timestamp_request(b"%d" % n)) for n in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].get_json()["error"]["code"] == "rate_limited"
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert len(_rows(app)) == 2

    _in_process(app, BASE_URL=live_tsa.url, TSA_PUBLIC=False)
    runner(app).mode = "external"  # the grants wait; below they are sealed all at once
    ids = []
    for _ in range(3):
        ids.append(submit(org.alice, org.seal_id, pdf).get_json()["id"])
        approve(org.bob)
        approve(org.carol)
    with app.app_context():
        grants = grant_leases.due_grants(db.session)
        db.session.rollback()
    assert len(grants) == 3

    def seal(grant_id: int) -> bool:
        with app.app_context():
            try:
                return seal_grant(db.session, env(), grant_id)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(seal, grants)) == [True] * 3
    for request_id in ids:
        assert org.alice.get(f"/api/v1/requests/{request_id}").get_json()["status"] == "sealed"
        assert_timestamped(sealed_bytes(org, request_id), trust_roots, ca_pems)
    clients = [row.client for row in _rows(app)]
    # The burst's two, then the three seals' tokens and the sample token(s) sizing signatures.
    assert clients[:2] == ["127.0.0.1"] * 2
    assert set(clients[2:]) == {timestamping.IN_PROCESS} and len(clients[2:]) >= 4


def test_a_restricted_tsa_answers_signed_in_clients_only(app, client, api, login):
    app.config["TSA_PUBLIC"] = False
    query = signer.timestamp_request(b"x")
    anonymous = _post(client, query)
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"] == "unauthenticated"
    bad_token = client.post("/tsa", data=query, content_type=QUERY,
                            headers={"Authorization": "Bearer sf_not-a-token"})
    assert bad_token.status_code == 401
    assert _rows(app) == []

    token = api("alice").token
    with_token = client.post("/tsa", data=query, content_type=QUERY,
                             headers={"Authorization": f"Bearer {token}"})
    assert _status(with_token)["status"] == "granted"
    assert _status(_post(login("bob"), query))["status"] == "granted"
    assert len(_rows(app)) == 2


def test_an_external_tsa_with_basic_auth(org, pdf, live_tsa, app, trust_roots, ca_pems):
    """The external-TSA path is the same client: here the TSA (our own server) demands
    credentials, as a commercial TSA does."""
    live_tsa.credentials = ("sealflow", "s3cret-密码")
    app.config.update(TSA_USERNAME="sealflow", TSA_PASSWORD="s3cret-密码")
    app.extensions.pop("sealflow_env", None)
    body = seal_one(org, pdf)
    assert body["status"] == "sealed", body
    assert_timestamped(sealed_bytes(org, body["id"]), trust_roots, ca_pems)

    app.config.update(TSA_PASSWORD="wrong")
    app.extensions.pop("sealflow_env", None)
    body = seal_one(org, pdf)
    assert body["status"] == "failed"
    assert "timestamp" in body["failure"]


def test_b_b_seals_carry_no_timestamp(org, pdf, trust_roots):
    body = seal_one(org, pdf)  # TestConfig: B-B, no TSA reachable
    assert body["status"] == "sealed", body
    ((token, _),) = timestamp_tokens(sealed_bytes(org, body["id"]))
    assert token is None


@pytest.mark.parametrize("how", ["in-process", "http"])
def test_a_background_sealing_job_of_the_same_server(org, pdf, live_tsa, app, trust_roots,
                                                     ca_pems, how):
    """`sealflow run`'s set-up: one threaded werkzeug server answers the API, and the sealing job
    runs in a background thread of the same process, after the request that authorized the seal
    has returned. Its timestamp comes from the built-in TSA in-process; or over HTTP, when this
    same server is named as the external TSA, which it answers meanwhile."""
    if how == "in-process":
        _in_process(app)
    runner(app).mode = "thread"
    try:
        http = requests.Session()

        def call(who, method: str, path: str, **kw):
            headers = {"Authorization": f"Bearer {who.token}"}
            return http.request(method, f"{live_tsa.url}{path}", headers=headers, timeout=30,
                                **kw)

        created = call(org.alice, "POST", "/api/v1/requests", data={
            "process": "contract_seal", "seal": str(org.seal_id),
            "data": '{"amount": 50000, "purpose": "采购合同"}'},
            files={"document": ("contract.pdf", pdf, "application/pdf")})
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        for who in (org.bob, org.carol):
            (task,) = call(who, "GET", "/api/v1/tasks").json()
            done = call(who, "POST", f"/api/v1/tasks/{task['id']}/complete",
                        json={"decision": "approve"})
            assert done.status_code == 200, done.text
        deadline = time.monotonic() + 30
        while (status := call(org.alice, "GET", f"/api/v1/requests/{request_id}")
               .json()["status"]) == "authorized" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert status == "sealed"
        sealed = call(org.alice, "GET", f"/api/v1/requests/{request_id}/sealed").content
        assert_timestamped(sealed, trust_roots, ca_pems)
        http.close()
    finally:
        runner(app).shutdown()
