"""Issue 10, defect 4: a sealing step that overruns its lease is taken over and tried again,
never waited on; the grant still seals once.

A real stuck step: the sealing job asks an external TSA (this test's own Sealflow ``/tsa``
served over HTTP) whose first answer is held back until the test lets it go. The worker's grant
poller (SEALFLOW_JOB_MODE=external) finds the grant once its lease has run out, seals it on
another thread, and the stuck job's result, when it comes, is dropped."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.extensions import db
from app.grant_poller import GrantPoller
from app.jobs import runner
from processes.models import AuditEvent, Document, SigningGrant
from tests.conftest import _QuietHandler, approve, sealed_bytes, submit
from tests.pdfcheck import assert_timestamped


class HeldTsa:
    """The app's ``/tsa`` at an address of its own; the first request waits for ``release``."""

    def __init__(self, app) -> None:
        self.app = app
        self.entered = threading.Event()
        self.release = threading.Event()
        self._first = threading.Lock()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/tsa"
        self._server = make_server("127.0.0.1", port, self, threaded=True,
                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def __call__(self, environ, start_response):
        if self._first.acquire(blocking=False):  # held once, never released: the first only
            self.entered.set()
            self.release.wait(timeout=60)
        return self.app(environ, start_response)

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def held_tsa(app) -> Iterator[HeldTsa]:
    tsa = HeldTsa(app)
    app.config.update(PADES_LEVEL="B-T", TSA_URL=tsa.url, JOB_LEASE_SECONDS=1,
                      GRANT_POLL_SECONDS=0.05)
    app.extensions.pop("sealflow_env", None)  # env() is built again from the settings
    runner(app).mode = "external"  # grants are left to the worker's poller
    yield tsa
    tsa.close()


def _status(org, request_id: int) -> str:
    return org.alice.get(f"/api/v1/requests/{request_id}").get_json()["status"]


def test_a_step_past_its_lease_is_taken_over_and_the_grant_seals_once(app, org, pdf, held_tsa,
                                                                      trust_roots, ca_pems):
    request_id = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    approve(org.bob)
    approve(org.carol)
    assert _status(org, request_id) == "authorized"
    with app.app_context():
        grant_id = db.session.execute(select(SigningGrant.id).where(
            SigningGrant.request_id == request_id)).scalar_one()
        db.session.rollback()

    jobs = runner(app)
    stuck = threading.Thread(target=jobs._in_app, args=(jobs.run_grant, grant_id))
    stuck.start()  # takes the lease, then waits on the TSA
    assert held_tsa.entered.wait(timeout=30)
    poller = GrantPoller(app, jobs.run_lease)
    poller.start()
    try:
        deadline = time.monotonic() + 60
        while _status(org, request_id) != "sealed" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _status(org, request_id) == "sealed"
    finally:
        held_tsa.release.set()  # the stuck step finishes now; its result must be dropped
        stuck.join(timeout=60)
        poller.stop()

    with app.app_context():
        grant = db.session.get(SigningGrant, grant_id)
        # The stuck try, and the one that took over; on a loaded machine a take-over may
        # itself overrun the 1 s lease and be taken over in turn: each late result is dropped.
        assert grant.attempts >= 2
        sealed_events = db.session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.request_id == request_id, AuditEvent.action == "request.sealed")).scalar()
        documents = db.session.execute(select(func.count()).select_from(Document)).scalar()
        db.session.rollback()
    assert sealed_events == 1
    assert documents == 2  # the submitted PDF and one sealed PDF; the late result is dropped
    assert_timestamped(sealed_bytes(org, request_id), trust_roots, ca_pems)
