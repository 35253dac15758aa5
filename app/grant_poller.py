"""Where grants are sealed in another process than the one that made them (``sealflow worker``
beside ``sealflow serve``, SEALFLOW_JOB_MODE=external): a thread that asks the database for due
grants every SEALFLOW_GRANT_POLL_SECONDS (0.1), and again as soon as a sealing thread comes free,
leases as many as it has free threads in one statement, and starts them.

Due grants are those not yet leased and those whose lease ran out: a sealing step that overruns
its lease (a stuck TSA, a lock never granted) is taken over by the next free thread, here or in
another worker, and tried again; whichever records first seals, the other's result is dropped
(``processes.requests.sealing``: a grant seals once). A thread cannot be killed, so a stuck one
stays busy until its step returns: the lease bounds how long a grant waits for it, not the
thread. Leasing only for free threads keeps workers from trying the same grants (each try was a
write transaction) and no grant waits leased behind a busy thread.

``sealflow worker`` seals in SEALFLOW_SEAL_PROCESSES processes (:func:`fork_sealers`; one per
core, at most 4, by default): one process's sealing threads share one core (the GIL), and on
a busy machine each process gets its share of the CPU, so sealing keeps up with the web
processes' approvals only with processes of its own to match them (bench/README.md,
``flows.py``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from app.extensions import db
from processes.db import autocommit, unit_of_work
from processes.requests import grant_leases

logger = logging.getLogger(__name__)


class GrantPoller:
    def __init__(self, app: Flask, seal: Callable[[grant_leases.Lease], None], *,
                 threads: int | None = None) -> None:
        self.app = app
        self.seal = seal  # JobRunner.run_lease: one leased grant's job, errors logged
        self.every = float(app.config["GRANT_POLL_SECONDS"])
        self.lease = int(app.config["JOB_LEASE_SECONDS"])
        self.threads = threads or int(app.config["SEAL_THREADS"])
        self._executor = ThreadPoolExecutor(max_workers=self.threads,
                                            thread_name_prefix="sealflow-seal")
        self._busy = 0  # sealing threads at work: a poll leases only for the free ones
        self._lock = threading.Lock()
        self._wake = threading.Event()  # a thread came free: look again now, not next tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sealflow-grant-poll",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the database away, say: asked again soon
                logger.exception("looking for grants to seal failed")
                self._stop.wait(min(30.0, 50 * self.every))
            self._wake.wait(self.every)

    def poll(self) -> int:
        """Lease as many due grants as there are free sealing threads, and start them; how
        many. PostgreSQL leases them in one statement; SQLite reads first, so that an idle
        poll takes no write lock."""
        with self._lock:
            free = self.threads - self._busy
        if free <= 0:
            return 0
        with self.app.app_context():
            try:
                leases = self._take(free)
            finally:
                db.session.remove()
        with self._lock:
            self._busy += len(leases)
        for lease in leases:
            self._executor.submit(self._run, lease)
        return len(leases)

    def _take(self, free: int) -> list[grant_leases.Lease]:
        if db.session.get_bind().dialect.name == "postgresql":  # one statement, no read first
            with unit_of_work(db.session):
                autocommit(db.session)  # one round trip: no BEGIN, no COMMIT
                return grant_leases.lease_due(db.session, free, self.lease)
        with unit_of_work(db.session, write=False):
            due = grant_leases.due_grants(db.session, limit=free)
        if not due:
            return []
        with unit_of_work(db.session):
            return grant_leases.take_leases(db.session, due, self.lease)

    def _run(self, lease: grant_leases.Lease) -> None:
        try:
            with self.app.app_context():
                try:
                    self.seal(lease)
                finally:
                    db.session.remove()
        finally:
            with self._lock:
                self._busy -= 1
            self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._executor.shutdown(wait=True)


def fork_sealers(app: Flask, seal: Callable[[int], None], count: int) -> list[int]:
    """Start ``count`` sealing processes beside this one (forks, each with a poller and its
    sealing threads of its own, nothing else); their pids. Called before this process starts
    a thread or opens a connection it keeps: a child gets connections of its own. A child ends
    when this process does (it looks every second) or on SIGTERM/SIGINT."""
    with app.app_context():
        db.engine.dispose()  # no connection of the parent's is shared with a child
    parent, pids = os.getpid(), []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 0
            try:
                poller = GrantPoller(app, seal)
                poller.start()
                while os.getppid() == parent:
                    time.sleep(1.0)
            except KeyboardInterrupt:
                pass
            except BaseException:  # noqa: BLE001 - logged; the parent's other sealers go on
                logger.exception("sealing process %d failed", os.getpid())
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        pids.append(pid)
    logger.info("sealing in %d more processes: %s", count, ", ".join(map(str, pids)))
    return pids
