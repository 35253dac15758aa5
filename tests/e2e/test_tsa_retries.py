"""Issue 10: an external TSA that is down or busy never fails a request at once. The request
stays authorized and says it waits for the timestamp service (try n of N) while the sealing
job tries again with backoff; after the last try it fails with the reason, its use of the seal
released, and an admin's retry seals it once the TSA answers.

The TSA is real: this test's own Sealflow ``/tsa`` served over HTTP on a port of its own,
behind a door that can be shut (nothing listens: connections are refused) or busy (HTTP 503).
The tries are driven by the scheduler's sweep, with a backoff of milliseconds."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

import config
from app.extensions import db
from app.jobs import runner
from processes.db import unit_of_work
from processes.models import AuditEvent, GrantStatus, Seal, SigningGrant, utcnow
from processes.seals import policy
from tests.conftest import PASSWORD, _QuietHandler, approve, sealed_bytes, submit
from tests.pdfcheck import assert_timestamped


class ExternalTsa:
    """The app's own ``/tsa`` at an address of its own. Until :meth:`open`, its port is bound
    but nothing listens (a connection is refused); ``busy`` requests after that get 503."""

    def __init__(self, app) -> None:
        self.app = app
        self.busy = 0
        self.answered = 0
        self._lock = threading.Lock()
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}/tsa"
        self._server = None
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        self._socket.listen()
        self._server = make_server("127.0.0.1", self._socket.getsockname()[1], self,
                                   threaded=True, request_handler=_QuietHandler,
                                   fd=self._socket.fileno())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def __call__(self, environ, start_response):
        with self._lock:
            busy = self.busy > 0
            self.busy -= busy
        if busy:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"busy, try later"]
        with self._lock:
            self.answered += 1
        return self.app(environ, start_response)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
        self._socket.close()


@pytest.fixture
def tsa(app) -> Iterator[ExternalTsa]:
    """Seal at B-T with the external TSA, asked again up to 5 times (the default) after
    1, 2, 4, 8 ms..."""
    external = ExternalTsa(app)
    app.config.update(PADES_LEVEL="B-T", TSA_URL=external.url, TSA_RETRY_BASE_SECONDS=0.001,
                      TSA_RETRY_MAX_SECONDS=0.05)
    app.extensions.pop("sealflow_env", None)  # env() is built again from the settings
    yield external
    external.close()


def _grant(app, request_id: int) -> SigningGrant:
    with app.app_context():
        grant = db.session.execute(select(SigningGrant).where(
            SigningGrant.request_id == request_id)).scalar_one()
        db.session.expunge(grant)
        db.session.rollback()
        return grant


def _next_try(app, request_id: int) -> None:
    """The scheduler's sweep once the grant's next try is due (milliseconds away)."""
    due = _grant(app, request_id).lease_until
    if due is not None:
        due = due if due.tzinfo else due.replace(tzinfo=UTC)  # SQLite: naive UTC
        time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.005)
    runner(app).sweep()


def _retries(app, request_id: int) -> list[dict]:
    with app.app_context():
        details = db.session.execute(select(AuditEvent.details).where(
            AuditEvent.request_id == request_id, AuditEvent.action == "grant.timestamp_retry")
            .order_by(AuditEvent.seq)).scalars().all()
        db.session.rollback()
    return list(details)


def _approved(org, pdf) -> int:
    request_id = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    approve(org.bob)
    assert approve(org.carol).status_code == 200
    return request_id


def _uses(org) -> int:
    usage = org.carol.get(f"/api/v1/seals/{org.seal_id}/usage").get_json()
    return usage["counters"]["total"]


def test_a_tsa_busy_twice_then_granting_seals_the_request(app, org, pdf, tsa, make_user,
                                                         trust_roots, ca_pems):
    tsa.open()
    tsa.busy = 2
    request_id = _approved(org, pdf)  # the job's first try (inline): 503

    body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
    assert body["status"] == "authorized", body
    assert body["failure"] is None
    waiting = body["sealing"]
    assert (waiting["waiting_for"], waiting["try"], waiting["of"]) == ("timestamp", 2, 6)
    assert "HTTP 503" in waiting["reason"] and waiting["next_at"]
    # The page says so too, to whoever may see the request.
    make_user("audrey", roles=["auditor"], password=PASSWORD)
    page = app.test_client()
    page.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page.post("/login", data={"name": "audrey", "password": PASSWORD})
    text = page.get(f"/requests/{request_id}").text
    assert "waiting for the timestamp service (try 2 of 6" in text
    assert "HTTP 503" in text

    _next_try(app, request_id)  # 503 again
    body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
    assert (body["status"], body["sealing"]["try"]) == ("authorized", 3)
    _next_try(app, request_id)  # granted
    body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
    assert body["status"] == "sealed", body
    assert body["sealing"] is None
    assert_timestamped(sealed_bytes(org, request_id), trust_roots, ca_pems)
    assert tsa.busy == 0 and tsa.answered >= 1
    assert [(r["failed_try"], r["of"]) for r in _retries(app, request_id)] == [(1, 6), (2, 6)]
    grant = _grant(app, request_id)
    assert (grant.status, grant.attempts) == (GrantStatus.consumed, 3)
    assert grant.waiting["try"] == 3  # the grant keeps how many tries it took


def test_a_tsa_that_never_answers_fails_the_request_then_a_retry_seals_it(
        app, org, pdf, tsa, api, trust_roots, ca_pems):
    app.config["TSA_RETRIES"] = 2  # three tries in all
    app.extensions.pop("sealflow_env", None)
    with app.app_context(), unit_of_work(db.session):
        policy.set_policy(db.session, db.session.get(Seal, org.seal_id), actor=None, max_uses=5)
    request_id = _approved(org, pdf)  # nothing listens at the TSA's address
    assert _uses(org) == 1  # reserved with the grant
    for next_try in (2, 3):
        body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
        assert body["status"] == "authorized"
        assert (body["sealing"]["try"], body["sealing"]["of"]) == (next_try, 3)
        assert "could not be reached" in body["sealing"]["reason"]
        zh = org.alice.get(f"/api/v1/requests/{request_id}",
                           headers={"Accept-Language": "zh-CN"}).get_json()
        assert zh["sealing"]["reason"] == "无法连接时间戳服务"  # the signer's reason, in words
        _next_try(app, request_id)

    body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
    assert body["status"] == "failed", body
    assert body["failure"] == ("signing failed: no timestamp after 3 tries: the timestamp "
                               "service could not be reached")
    zh = org.alice.get(f"/api/v1/requests/{request_id}",
                       headers={"Accept-Language": "zh-CN"}).get_json()
    assert zh["failure"] == "签章失败：尝试 3 次仍未取得时间戳：无法连接时间戳服务"
    assert body["sealing"] is None
    assert _uses(org) == 0  # released
    assert len(_retries(app, request_id)) == 2
    runner(app).sweep()  # a failed grant is not tried again by itself
    assert org.alice.get(f"/api/v1/requests/{request_id}").get_json()["status"] == "failed"

    tsa.open()  # the TSA is back
    admin = api("root", roles=["admin"])
    retried = admin.post(f"/api/v1/requests/{request_id}/retry")
    assert retried.status_code == 200, retried.get_json()
    body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
    assert body["status"] == "sealed", body
    assert_timestamped(sealed_bytes(org, request_id), trust_roots, ca_pems)
    assert _uses(org) == 1
    assert runner(app).sweep() == 0


def test_a_retry_while_the_tsa_is_still_down_counts_its_tries_afresh(app, org, pdf, tsa, api):
    app.config["TSA_RETRIES"] = 1
    app.extensions.pop("sealflow_env", None)
    request_id = _approved(org, pdf)
    _next_try(app, request_id)
    assert org.alice.get(f"/api/v1/requests/{request_id}").get_json()["status"] == "failed"

    assert api("root", roles=["admin"]).post(
        f"/api/v1/requests/{request_id}/retry").status_code == 200
    body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
    assert body["status"] == "authorized"
    assert (body["sealing"]["try"], body["sealing"]["of"]) == (2, 2)


def test_a_tsa_that_refuses_fails_the_request_at_once(app, org, pdf, live_tsa):
    """A refusal is not a passing trouble: credentials the TSA turns down fail the request at
    the first try, with the TSA's answer."""
    live_tsa.credentials = ("sealflow", "right")
    app.config.update(TSA_USERNAME="sealflow", TSA_PASSWORD="wrong",
                      TSA_RETRY_BASE_SECONDS=0.001)
    app.extensions.pop("sealflow_env", None)
    request_id = _approved(org, pdf)
    body = org.alice.get(f"/api/v1/requests/{request_id}").get_json()
    assert body["status"] == "failed", body
    assert "refused the request: HTTP 401" in body["failure"]
    assert _retries(app, request_id) == []


@pytest.mark.parametrize(("name", "value"), [
    ("TSA_RETRIES", "-1"), ("TSA_RETRIES", "many"), ("TSA_RETRIES", "101"),
    ("TSA_RETRY_BASE_SECONDS", "0"), ("TSA_RETRY_BASE_SECONDS", "nan"),
    ("TSA_RETRY_MAX_SECONDS", "1"), ("TSA_RETRY_MAX_SECONDS", "inf")])
def test_retry_settings_out_of_bounds_are_refused(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv(f"SEALFLOW_{name}", value)
    with pytest.raises(config.ConfigurationError, match=f"SEALFLOW_{name}"):
        config.TestConfig(tmp_path).validate()
