"""The rule that comes first: the bytes sealed are the approved bytes (SHA-256 compared)."""

from __future__ import annotations

import hashlib
import hmac
import threading

from .errors import HashMismatch

__all__ = ["ApprovalCheck"]


class ApprovalCheck:
    """The SHA-256 of the bytes to seal compared with the approved one: on the spot for a small
    file; for a large one in a thread (hashlib lets go of the GIL), while the PDF is read and
    the signature prepared, and waited for before anything is signed. A thread of its own
    (a tenth of a millisecond to start), not a pool: a pool's workers do not survive a fork."""

    _THREAD_FROM = 1 << 20

    def __init__(self, data: bytes, expected_sha256: str):
        self.expected = expected_sha256.strip().lower()
        self.sha256 = ""
        self._hashed: list = []  # the hashlib object, once it has hashed the bytes
        self._thread: threading.Thread | None = None
        if len(data) < self._THREAD_FROM:
            self._compare(hashlib.sha256(data))
        else:
            self._thread = threading.Thread(
                target=lambda: self._hashed.append(hashlib.sha256(data)),
                name="seal-sha256", daemon=True)
            self._thread.start()

    def wait(self) -> None:
        """:raises HashMismatch: the bytes are not the approved bytes."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            self._compare(self._hashed[0])

    def approved_state(self):
        """A copy of the SHA-256 state over the approved bytes (after :meth:`wait`): a seal's
        byte-range digest goes on from it over the incremental update, so what is signed is
        provably what was approved, and the file is hashed once."""
        self.wait()
        return self._state.copy()

    def _compare(self, state) -> None:
        actual = state.hexdigest()
        if not hmac.compare_digest(actual.encode(), self.expected.encode()):
            raise HashMismatch(self.expected, actual)
        self.sha256, self._state = actual, state
