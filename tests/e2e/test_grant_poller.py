"""The worker's grant poller (SEALFLOW_JOB_MODE=external): it leases only as many grants as it
has free sealing threads, so that the rest stay free for another worker, and a thread that
comes free starts on the next grant at once, not at the next tick of the poll."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.grant_poller import GrantPoller
from app.jobs import runner
from processes.db import unit_of_work
from processes.models import Request, RequestStatus, SigningGrant
from processes.requests import grant_leases
from tests.conftest import PG_URL, approve, submit
from tests.holding import held_open


@pytest.fixture
def external(app):
    runner(app).mode = "external"  # grants are left to the poller under test
    return app


def _authorized(org, pdf, n: int) -> list[int]:
    ids = []
    for _ in range(n):
        ids.append(submit(org.alice, org.seal_id, pdf).get_json()["id"])
        approve(org.bob)
        approve(org.carol)
    return ids


def _grants(app) -> list[SigningGrant]:
    with app.app_context():
        grants = list(db.session.execute(select(SigningGrant).order_by(SigningGrant.id))
                      .scalars())
        db.session.expunge_all()
        db.session.rollback()
    return grants


def _statuses(org, ids: list[int]) -> list[str]:
    return [org.alice.get(f"/api/v1/requests/{rid}").get_json()["status"] for rid in ids]


def test_a_poll_leases_only_what_its_free_threads_start(external, org, pdf):
    _authorized(org, pdf, 3)
    release = threading.Event()
    started: list[int] = []

    def hold(lease) -> None:  # a sealing thread busy until the test lets it go
        started.append(lease.grant_id)
        release.wait(timeout=30)

    poller = GrantPoller(external, hold, threads=1)
    try:
        assert poller.poll() == 1
        assert poller.poll() == 0  # its only thread is busy: nothing more is leased
        leased = [g for g in _grants(external) if g.lease_until is not None]
        assert [g.id for g in leased] == started  # the other two are free for another worker
        assert leased[0].attempts == 1
        other = GrantPoller(external, hold, threads=2)
        try:
            assert other.poll() == 2  # another worker takes the two left, not the leased one
        finally:
            release.set()
            other.stop()
    finally:
        release.set()
        poller.stop()
    assert sorted(g.attempts for g in _grants(external)) == [1, 1, 1]


def test_a_free_thread_seals_the_next_grant_without_waiting_for_the_poll(external, org, pdf):
    external.config["GRANT_POLL_SECONDS"] = 60  # a tick never comes during the test
    ids = _authorized(org, pdf, 3)
    poller = GrantPoller(external, runner(external).run_lease, threads=1)
    poller.start()  # polls once at start; each seal done wakes it for the next
    try:
        deadline = time.monotonic() + 30
        while _statuses(org, ids) != ["sealed"] * 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _statuses(org, ids) == ["sealed"] * 3
    finally:
        poller.stop()
    assert [g.attempts for g in _grants(external)] == [1, 1, 1]


def test_a_poll_leaves_a_halted_requests_grant_alone(external, org, pdf):
    halted, waiting = _authorized(org, pdf, 2)
    with external.app_context(), unit_of_work(db.session):
        db.session.execute(update(Request).where(Request.id == halted)
                           .values(status=RequestStatus.halted))
    started: list[int] = []
    poller = GrantPoller(external, lambda lease: started.append(lease.grant_id), threads=4)
    try:
        assert poller.poll() == 1
    finally:
        poller.stop()
    by_request = {g.request_id: g for g in _grants(external)}
    assert started == [by_request[waiting].id]
    assert by_request[halted].lease_until is None and by_request[halted].attempts == 0


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's poll leases in one statement, skipping "
                                       "the rows another poll holds; SQLite's writers take turns")
def test_two_polls_at_once_never_lease_the_same_grant(external, org, pdf):
    _authorized(org, pdf, 3)
    started: list[int] = []
    poller = GrantPoller(external, lambda lease: started.append(lease.grant_id), threads=3)
    try:
        with held_open(external, lambda s: grant_leases.lease_due(s, 2, 60)) as first:
            # The first poll's leases are not committed yet: the poller's skips their rows (it
            # does not wait for them) and takes what is left, however many it could start.
            assert poller.poll() == 1
        assert poller.poll() == 0  # all three leased now: nothing is due
    finally:
        poller.stop()
    assert len(first[0]) == 2 and len(started) == 1
    assert started[0] not in {lease.grant_id for lease in first[0]}
    assert [g.attempts for g in _grants(external)] == [1, 1, 1]
