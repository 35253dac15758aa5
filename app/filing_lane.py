"""Filing's lane: a process files the requests it sealed (app/archive_jobs.py) in one thread of
its own, and only once its sealing has been quiet for :data:`QUIET_SECONDS`, so that reading a
document's text (pdftotext, the bigrams, the index) never takes the CPU or the GIL from a seal
that waits (bench/README.md, ``flows.py``). A request waits at most :data:`DEFER_SECONDS`: under
sealing that never pauses, filing goes on beside it, one request at a time.

Nothing is lost by waiting: a request is sealed and committed before it is queued here, and
the archive's sweep files whatever a stop or a crash left in the queue.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

from flask import Flask

from app.extensions import db

logger = logging.getLogger(__name__)

QUIET_SECONDS = 0.5
"""How long this process's sealing must have been idle before filing starts."""
DEFER_SECONDS = 30.0
"""The longest a sealed request waits for the quiet before it is filed anyway."""


class FilingLane:
    def __init__(self, app: Flask, file_one: Callable[[int], None], *,
                 quiet: float = QUIET_SECONDS, defer: float = DEFER_SECONDS) -> None:
        self.app = app
        self.file_one = file_one  # archive_jobs.file_sealed: errors logged, never raised
        self.quiet, self.defer = quiet, defer
        self._cond = threading.Condition()
        self._queue: deque[tuple[float, int]] = deque()  # (when queued, request id)
        self._sealing = 0  # sealing jobs running in this process
        self._sealed_at = 0.0  # when the last one ended (time.monotonic)
        self._thread: threading.Thread | None = None
        self._stopped = False

    @contextlib.contextmanager
    def sealing(self) -> Iterator[None]:
        """Around a sealing job: filing waits while one runs, and for the quiet after it."""
        with self._cond:
            self._sealing += 1
        try:
            yield
        finally:
            with self._cond:
                self._sealing -= 1
                self._sealed_at = time.monotonic()
                self._cond.notify_all()

    def add(self, request_id: int) -> None:
        """Queue a sealed request for filing (its seal is committed)."""
        with self._cond:
            if self._stopped:
                return  # stopping: the archive's sweep files it
            self._queue.append((time.monotonic(), request_id))
            if self._thread is None or not self._thread.is_alive():
                # Started here, not before: a forked sealing process starts its own.
                self._thread = threading.Thread(target=self._loop, name="sealflow-filing",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue)

    def _next(self) -> int | None:
        """The next request to file, once it may be; None when stopped."""
        with self._cond:
            while not self._stopped:
                if not self._queue:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                quiet_from = self._sealed_at + self.quiet
                if (self._sealing == 0 and now >= quiet_from) \
                        or now >= self._queue[0][0] + self.defer:
                    return self._queue.popleft()[1]
                wait = self._queue[0][0] + self.defer - now
                if self._sealing == 0:
                    wait = min(wait, quiet_from - now)
                self._cond.wait(wait)
            return None

    def _loop(self) -> None:
        while (request_id := self._next()) is not None:
            try:
                with self.app.app_context():
                    try:
                        self.file_one(request_id)
                    finally:
                        db.session.remove()
            except Exception:  # noqa: BLE001 - the lane goes on; the sweep files it later
                logger.exception("filing request %d failed", request_id)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the request being filed; the queue stays, for the archive's sweep or
        for the lane started again by the next :meth:`add`."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout=timeout)
        with self._cond:
            self._stopped, self._thread = False, None
