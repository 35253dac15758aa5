"""Where grants are sealed in another process than the one that made them (``sealflow worker``
beside ``sealflow serve``, SEALFLOW_JOB_MODE=external): a thread that asks the database for due
grants every SEALFLOW_GRANT_POLL_SECONDS (0.1) and hands each to one of a few sealing threads.

Due grants are those not yet leased and those whose lease ran out: a sealing step that overruns
its lease (a stuck TSA, a lock never granted) is taken over by the next free thread, here or in
another worker, and tried again; whichever records first seals, the other's result is dropped
(``processes.requests.sealing``: a grant seals once). A thread cannot be killed, so a stuck one
stays busy until its step returns: the lease bounds how long a grant waits for it, not the
thread.

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
from processes.db import unit_of_work
from processes.requests import sealing

logger = logging.getLogger(__name__)


class GrantPoller:
    def __init__(self, app: Flask, seal: Callable[[int], None], *, threads: int = 2) -> None:
        self.app = app
        self.seal = seal  # JobRunner.run_grant: one grant's job, errors logged
        self.every = float(app.config["GRANT_POLL_SECONDS"])
        self.lease = float(app.config["JOB_LEASE_SECONDS"])
        self._executor = ThreadPoolExecutor(max_workers=threads,
                                            thread_name_prefix="sealflow-seal")
        # Grant id -> when it was handed over: not handed again while queued or within its
        # lease (a job past its lease may be stuck: the grant is handed over again).
        self._handed: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sealflow-grant-poll",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the database away, say: asked again soon
                logger.exception("looking for grants to seal failed")
                self._stop.wait(min(30.0, 50 * self.every))

    def poll(self) -> int:
        """Hand every due grant not already in hand to a sealing thread; how many."""
        with self.app.app_context():
            try:
                with unit_of_work(db.session, write=False):
                    due = sealing.due_grants(db.session)
            finally:
                db.session.remove()
        now = time.monotonic()
        handed = 0
        with self._lock:
            for grant_id in due:
                since = self._handed.get(grant_id)
                if since is not None and now - since < self.lease:
                    continue
                self._handed[grant_id] = now
                self._executor.submit(self._run, grant_id, now)
                handed += 1
        return handed

    def _run(self, grant_id: int, handed_at: float) -> None:
        try:
            with self.app.app_context():
                try:
                    self.seal(grant_id)
                finally:
                    db.session.remove()
        finally:
            with self._lock:
                if self._handed.get(grant_id) == handed_at:
                    del self._handed[grant_id]

    def stop(self) -> None:
        self._stop.set()
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
