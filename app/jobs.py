"""The job runner: seals authorized requests after the commit, and sweeps for lost jobs.

Modes (SEALFLOW_JOB_MODE): ``thread`` seals in a background thread of this process (the embedded
default); ``inline`` seals right after the commit, before the response (tests, scripts);
``external`` leaves grants to ``sealflow worker``. The scheduler (started by ``sealflow run`` and
``sealflow worker``, not by ``create_app``) sweeps for grants whose job was lost.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app

from app.context import env
from app.extensions import db
from processes import sealing, signals

logger = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.mode = app.config["JOB_MODE"]
        self._executor: ThreadPoolExecutor | None = None
        self.scheduler: BackgroundScheduler | None = None

    def on_grant(self, _sender: object, grant_id: int, **_kw: object) -> None:
        # Signals are process-wide; act only for grants committed by this app.
        try:
            if current_app._get_current_object() is not self.app:
                return
        except RuntimeError:
            return
        if self.mode == "inline":
            self.run_grant(grant_id)
        elif self.mode == "thread":
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=2,
                                                    thread_name_prefix="sealflow-seal")
            self._executor.submit(self._in_context, grant_id)

    def run_grant(self, grant_id: int) -> None:
        try:
            sealing.run_grant(db.session, env(), grant_id)
        except Exception:  # noqa: BLE001 - the lease expires and the sweep retries
            logger.exception("sealing job for grant %d failed; it will be retried", grant_id)

    def _in_context(self, grant_id: int) -> None:
        with self.app.app_context():
            try:
                self.run_grant(grant_id)
            finally:
                db.session.remove()

    def sweep(self) -> int:
        """Seal every grant that is due (new, or whose worker died). Returns how many ran."""
        with self.app.app_context():
            try:
                ids = sealing.due_grants(db.session)
                db.session.rollback()
                for grant_id in ids:
                    self.run_grant(grant_id)
                return len(ids)
            finally:
                db.session.remove()

    def start_scheduler(self) -> BackgroundScheduler:
        if self.scheduler is None:
            self.scheduler = BackgroundScheduler(daemon=True)
            self.scheduler.add_job(self.sweep, "interval",
                                   seconds=self.app.config["JOB_POLL_SECONDS"],
                                   id="sweep-grants", max_instances=1, coalesce=True)
            self.scheduler.start()
            logger.info("scheduler started (sweep every %ss)", self.app.config["JOB_POLL_SECONDS"])
        return self.scheduler

    def shutdown(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def runner(app: Flask | None = None) -> JobRunner:
    return (app or current_app).extensions["sealflow_jobs"]


def init_app(app: Flask) -> None:
    jobs = JobRunner(app)
    app.extensions["sealflow_jobs"] = jobs
    signals.grant_created.connect(jobs.on_grant, weak=True)
