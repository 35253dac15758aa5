"""The job layer: the jobs' units of work, and the runner that starts them.

A job owns its transactions, as an HTTP request or a CLI command does: the domain offers the
steps (they flush, never commit), and each step runs here in a ``processes.db.unit_of_work``
of its own. :func:`seal_grant` (lease; sign, with no write transaction open; record) and
:func:`app.renewal_jobs.renew_due_timestamps` (per document: read; renew, with no
transaction open; record) are
the jobs of several steps; the others (a lifecycle change, a timer, the CRL) are one step each.

Modes (SEALFLOW_JOB_MODE): ``thread`` seals in a background thread of this process (the embedded
default); ``inline`` seals right after the commit, before the response (tests, scripts);
``external`` leaves grants to ``sealflow worker``, whose poller (app/grant_poller.py) finds
them within SEALFLOW_GRANT_POLL_SECONDS. The scheduler (started by ``sealflow run`` and
``sealflow worker``, not by ``create_app``) sweeps for grants whose job was lost.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app
from sqlalchemy.orm import Session

from app import archive_jobs, audit_jobs, mailer, renewal_jobs
from app.context import env
from app.extensions import db
from app.filing_lane import FilingLane
from app.grant_poller import GrantPoller
from processes import signals
from processes.db import autocommit, retrying_deadlocks, unit_of_work
from processes.env import Env
from processes.models import utcnow
from processes.pki import revocation
from processes.requests import grant_leases, lifecycle_changes, sealing, stalls, timers
from processes.seals import expiry, long_term

logger = logging.getLogger(__name__)


def seal_grant(session: Session, env: Env, grant_id: int) -> bool:
    """The sealing job for one grant: take the lease, sign, record the result, each step in a
    transaction of its own (signing, the slow part, holds no write lock). True when it sealed."""
    with unit_of_work(session):
        autocommit(session)  # one statement (PostgreSQL: no BEGIN, no COMMIT)
        lease = grant_leases.take_lease(session, grant_id, env.lease_seconds)
    if lease is None:
        return False
    return seal_leased(session, env, lease)


def seal_leased(session: Session, env: Env, lease: grant_leases.Lease) -> bool:
    """The sealing job's steps after the lease (``app.grant_poller`` leases in batches)."""
    try:
        with unit_of_work(session, write=False):
            # Reads that need no common snapshot (one statement, with the seal's signer kept):
            # on PostgreSQL no BEGIN or COMMIT, and no transaction left open while signing.
            autocommit(session)
            sealed = sealing.sign(session, env, lease)
    except sealing.SealHalted:
        with unit_of_work(session):
            sealing.record_halt(session, lease)
        return False
    except sealing.TimestampDelayed as exc:
        with unit_of_work(session):
            sealing.record_timestamp_wait(session, env, lease, exc.reason)
        return False
    except sealing.RefuseToSeal as exc:
        with unit_of_work(session):
            sealing.record_failure(session, lease, exc.reason)
        return False
    def record() -> bool:
        with unit_of_work(session):
            return sealing.record_sealed(session, env, lease, sealed)

    return retrying_deadlocks(record)  # signing again would cost far more


STALL_SWEEP_MINUTES = 10
"""How often the scheduler looks for requests that wait on nothing (:meth:`sweep_stalled`)."""


class JobRunner:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.mode = app.config["JOB_MODE"]
        self._executor: ThreadPoolExecutor | None = None
        self.scheduler: BackgroundScheduler | None = None
        self.poller: GrantPoller | None = None  # external mode: grants another process made
        # What this process sealed is filed in a lane of its own, out of sealing's way.
        self.filing = FilingLane(app, archive_jobs.file_sealed)
        # Requests the stall sweep found waiting on something (a message), by the updated_at
        # it saw: not loaded again until they change.
        self._waiting: dict[int, datetime] = {}

    def _ours(self) -> bool:
        """Signals are process-wide: act only on what this app committed."""
        try:
            return current_app._get_current_object() is self.app
        except RuntimeError:
            return False

    def _dispatch(self, job, arg: int, *, external_too: bool = False) -> None:
        """Run a job right after the commit: inline, or in a background thread (in
        ``external`` mode only with ``external_too``: a mail is sent from where it was made)."""
        if self.mode == "inline":
            job(arg)
        elif self.mode == "thread" or external_too:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=2,
                                                    thread_name_prefix="sealflow-seal")
            self._executor.submit(self._in_app, job, arg)

    def _in_app(self, job, arg: int) -> None:
        with self.app.app_context():
            try:
                job(arg)
            finally:
                db.session.remove()

    def on_grant(self, _sender: object, grant_id: int, **_kw: object) -> None:
        if self._ours():
            self._dispatch(self.run_grant, grant_id)

    def on_notices(self, _sender: object, notice_ids: list[int], **_kw: object) -> None:
        """Notices of users with an e-mail address were committed: mail them (app/mailer.py)."""
        if self._ours() and mailer.enabled(self.app):
            self._dispatch(functools.partial(mailer.send_notices, self.app), notice_ids,
                           external_too=True)

    def on_finished(self, _sender: object, request_id: int, status: str, **_kw: object) -> None:
        """A sealed request is filed in the archive (app/archive_jobs.py), where it sealed:
        inline at once, otherwise in the filing lane (app/filing_lane.py)."""
        if self._ours() and status == "sealed":
            if self.mode == "inline":
                archive_jobs.file_sealed(request_id)
            else:
                self.filing.add(request_id)

    def on_lifecycle(self, _sender: object, request_id: int, **_kw: object) -> None:
        """A lifecycle flow was authorized: make its change."""
        if self._ours():
            self._dispatch(self.apply_change, request_id)

    def run_step(self, step: Callable[[Session], object], what: str, *args: object) -> bool:
        """Run one job step in a unit of work of its own, on this app context's session. A
        failure is rolled back, with what waited for its commit, and logged (``what % args``
        says which): the sweep or the next run tries again. True when it committed."""
        def run() -> None:
            with unit_of_work(db.session):
                step(db.session)

        try:
            retrying_deadlocks(run)
        except Exception:  # noqa: BLE001 - logged with its ids; tried again later
            logger.exception("%s failed; it will be tried again", what % args)
            return False
        return True

    def apply_change(self, request_id: int) -> None:
        self.run_step(lambda s: lifecycle_changes.apply_request(s, env(), request_id),
                      "lifecycle change of request %d", request_id)

    def run_grant(self, grant_id: int) -> None:
        try:
            with self.filing.sealing():
                seal_grant(db.session, env(), grant_id)
        except Exception:  # noqa: BLE001 - the lease expires and the sweep retries
            logger.exception("sealing job for grant %d failed; it will be retried", grant_id)

    def run_lease(self, lease: grant_leases.Lease) -> None:
        """A grant the poller leased: sealed, errors logged (the lease expires; taken again)."""
        try:
            with self.filing.sealing():
                seal_leased(db.session, env(), lease)
        except Exception:  # noqa: BLE001 - the lease expires and the poller retries
            logger.exception("sealing job for grant %d failed; it will be retried",
                             lease.grant_id)

    def sweep(self) -> int:
        """Fire due timers and seal every grant that is due (new, or whose worker died).
        Returns how many jobs ran."""
        with self.app.app_context():
            try:
                with unit_of_work(db.session, write=False):
                    due = timers.due_requests(db.session)
                for request_id, _at in due:
                    self.fire_timer(request_id)
                with unit_of_work(db.session, write=False):
                    ids = grant_leases.due_grants(db.session)
                for grant_id in ids:
                    self.run_grant(grant_id)
                with unit_of_work(db.session, write=False):
                    changes = lifecycle_changes.pending_changes(db.session)
                for request_id in changes:
                    self.apply_change(request_id)
                mailed = mailer.send_due(self.app)  # failed or never sent: mailed now
                return len(ids) + len(due) + len(changes) + mailed
            finally:
                db.session.remove()

    def sweep_stalled(self, batch: int = 200) -> int:
        """Make an incident of every running request whose instance waits on nothing (older
        versions left some so; every advance now checks its own). One query finds those with
        no open task and no timer; each is loaded once per change, read-only, and locked only
        to be marked. Returns how many were marked."""
        marked, after, seen = 0, 0, {}
        with self.app.app_context():
            try:
                while True:
                    with unit_of_work(db.session, write=False):
                        found = stalls.candidates(db.session, after=after, limit=batch)
                    for request_id, updated_at in found:
                        if self._waiting.get(request_id) == updated_at:
                            seen[request_id] = updated_at
                            continue
                        outcome = self._mark_if_stalled(request_id)
                        if outcome is False:  # it waits on something: not loaded again
                            seen[request_id] = updated_at
                        marked += outcome is True
                    if len(found) < batch:
                        break
                    after = found[-1][0]
            finally:
                self._waiting = seen
                db.session.remove()
        return marked

    def _mark_if_stalled(self, request_id: int) -> bool | None:
        """Checked read-only first; locked and marked only when stalled. None on failure."""
        try:
            with unit_of_work(db.session, write=False):
                if not stalls.is_stalled(db.session, request_id):
                    return False
            with unit_of_work(db.session):
                return stalls.mark_if_stalled(db.session, request_id)
        except Exception:  # noqa: BLE001 - logged with its id; tried again next time
            logger.exception("the stall check of request %d failed", request_id)
            return None

    def on_seal_changed(self, _sender: object, seal_id: int, status: str, **_kw: object) -> None:
        """A revoked seal's certificate goes on the CRL at once."""
        if self._ours() and status == "revoked":
            self.publish_crl()

    def publish_crl(self) -> None:
        self.run_step(lambda s: revocation.publish(s, env()), "publishing the CRL")

    def maintain_pki(self) -> None:
        """Every 6 hours: renew the CRLs ahead of their nextUpdate (the root's only while its
        key is online; otherwise a warning), expire seals whose certificate
        ran out, warn about those that soon will; then renew the archive timestamps that are
        due (B-LTA documents), with the fresh CRL."""
        with self.app.app_context():
            try:
                with unit_of_work(db.session):
                    if revocation.due(db.session):
                        revocation.publish(db.session, env())
                with unit_of_work(db.session):
                    revocation.renew_root_if_due(db.session, env())
                with unit_of_work(db.session):
                    expiry.expire_due(db.session)
                    expiry.warn_expiring(db.session)
            except Exception:  # noqa: BLE001 - logged; tried again next time
                logger.exception("PKI maintenance failed")
            finally:
                db.session.remove()
        self.renew_archive_timestamps()

    def renew_archive_timestamps(self) -> long_term.RenewalRun | None:
        """A step of its own: a failure here leaves the CRL and the seals' lifecycle done."""
        with self.app.app_context():
            try:
                return renewal_jobs.renew_due_timestamps(db.session, env())
            except Exception:  # noqa: BLE001 - logged; tried again next time
                logger.exception("renewing archive timestamps failed")
                return None
            finally:
                db.session.remove()

    def fire_timer(self, request_id: int) -> None:
        self.run_step(lambda s: timers.fire(s, request_id), "timer job for request %d",
                      request_id)

    def on_timer(self, _sender: object, request_id: int, due_at, **_kw: object) -> None:
        """Arm a one-off job at the timer's due time (the periodic sweep is the safety net)."""
        if self._ours() and self.scheduler is not None:
            self._arm(request_id, due_at)

    def _arm(self, request_id: int, due_at) -> None:
        # A timer already due (it came due while Sealflow was down) runs now, once.
        run_date = None if due_at <= utcnow() else due_at
        self.scheduler.add_job(self._in_app, "date", run_date=run_date,
                               args=[self.fire_timer, request_id], id=f"timer-{request_id}",
                               replace_existing=True, misfire_grace_time=None)

    def arm_all(self) -> int:
        """At start-up: a job for every waiting timer; those due while down fire now, once."""
        with self.app.app_context():
            try:
                with unit_of_work(db.session, write=False):
                    pending = timers.due_requests(db.session, until=utcnow().replace(year=9999),
                                                  limit=100_000)
            finally:
                db.session.remove()
        for request_id, due_at in pending:
            self._arm(request_id, due_at)
        return len(pending)

    def start_scheduler(self) -> BackgroundScheduler:
        if self.scheduler is None:
            self.scheduler = BackgroundScheduler(daemon=True)
            self.scheduler.add_job(self.sweep, "interval",
                                   seconds=self.app.config["JOB_POLL_SECONDS"],
                                   id="sweep-grants", max_instances=1, coalesce=True)
            self.scheduler.add_job(self.maintain_pki, "interval", hours=6, id="maintain-pki",
                                   max_instances=1, coalesce=True, next_run_time=utcnow())
            self.scheduler.add_job(self.sweep_stalled, "interval", minutes=STALL_SWEEP_MINUTES,
                                   id="sweep-stalled", max_instances=1, coalesce=True,
                                   next_run_time=utcnow())
            archive_jobs.schedule(self.scheduler, self.app)
            audit_jobs.schedule(self.scheduler, self.app)
            self.scheduler.start()
            if self.mode == "external" and self.poller is None:
                self.poller = GrantPoller(self.app, self.run_lease)
                self.poller.start()
            armed = self.arm_all()
            logger.info("scheduler started (sweep every %ss, %d timers armed)",
                        self.app.config["JOB_POLL_SECONDS"], armed)
        return self.scheduler

    def shutdown(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.poller is not None:
            self.poller.stop()
            self.poller = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self.filing.stop()


def runner(app: Flask | None = None) -> JobRunner:
    return (app or current_app).extensions["sealflow_jobs"]


def init_app(app: Flask) -> None:
    jobs = JobRunner(app)
    app.extensions["sealflow_jobs"] = jobs
    signals.grant_created.connect(jobs.on_grant, weak=True)
    signals.timer_armed.connect(jobs.on_timer, weak=True)
    signals.seal_changed.connect(jobs.on_seal_changed, weak=True)
    signals.lifecycle_authorized.connect(jobs.on_lifecycle, weak=True)
    signals.notices_to_mail.connect(jobs.on_notices, weak=True)
    signals.request_finished.connect(jobs.on_finished, weak=True)
