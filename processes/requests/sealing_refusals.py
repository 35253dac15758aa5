"""Why a grant does not seal now (processes/requests/sealing.py): each kind decides what
becomes of the request and its grant."""

from __future__ import annotations

from processes.errors import Message


class RefuseToSeal(Exception):
    """A re-check at sealing time failed; the request becomes ``failed`` with this reason."""

    rule: str | None = None  # the seal's policy's rule that refused (seals/refusals.py)

    @property
    def reason(self) -> str:
        """The reason as raised: a ``Message`` (``msg(...)``) keeps its key and values."""
        said = self.args[0] if self.args else ""
        return said if isinstance(said, Message) else str(self)


class TimestampDelayed(RefuseToSeal):
    """The timestamp service gave no usable answer (unreachable, slow, busy, garbled): the grant
    waits and tries again later (:func:`record_timestamp_wait`); after the last try the request
    fails with this reason."""


class SealHalted(RefuseToSeal):
    """The seal is suspended: the request waits (``halted``) until it is resumed."""


class RequestMovedOn(RefuseToSeal):
    """The request is no longer authorized (withdrawn, say): the grant is given up and its use
    released; the request keeps the status it has."""
