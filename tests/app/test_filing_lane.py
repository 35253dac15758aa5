"""The filing lane (app/filing_lane.py): a process's sealed requests are filed once its sealing
is quiet, never later than the lane's longest wait, and a stop loses nothing."""

from __future__ import annotations

import threading
import time

from app.filing_lane import FilingLane


class Filed:
    """What the lane filed, and when (``file_one`` as the job runner hands it
    archive_jobs.file_sealed)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.at: dict[int, float] = {}
        self.done = threading.Event()

    def __call__(self, request_id: int) -> None:
        self.ids.append(request_id)
        self.at[request_id] = time.monotonic()
        self.done.set()


def test_filing_waits_for_the_sealing_to_be_quiet(app):
    filed = Filed()
    lane = FilingLane(app, filed, quiet=0.3, defer=30)
    try:
        with lane.sealing():
            lane.add(7)
            lane.add(8)
            assert not filed.done.wait(0.5)  # sealing: nothing filed
            assert lane.pending() == 2
        ended = time.monotonic()
        assert filed.done.wait(10)
        deadline = time.monotonic() + 10
        while len(filed.ids) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert filed.ids == [7, 8]  # in the order sealed
        assert filed.at[7] - ended >= 0.25  # after the quiet, not at once
    finally:
        lane.stop()


def test_sealing_that_never_pauses_delays_filing_by_the_longest_wait_only(app):
    filed = Filed()
    lane = FilingLane(app, filed, quiet=0.3, defer=1.0)
    try:
        with lane.sealing():
            queued = time.monotonic()
            lane.add(3)
            assert filed.done.wait(10)  # filed while the sealing still runs
            assert filed.at[3] - queued >= 1.0
    finally:
        lane.stop()


def test_a_failed_filing_does_not_stop_the_lane(app):
    filed = Filed()

    def file_one(request_id: int) -> None:
        if request_id == 1:
            raise RuntimeError("the disk is full")
        filed(request_id)

    lane = FilingLane(app, file_one, quiet=0, defer=30)
    try:
        lane.add(1)
        lane.add(2)
        assert filed.done.wait(10)
        assert filed.ids == [2]
    finally:
        lane.stop()


def test_a_stop_keeps_the_queue_for_the_next_start(app):
    filed = Filed()
    lane = FilingLane(app, filed, quiet=0.2, defer=30)
    with lane.sealing():
        lane.add(5)
        lane.stop()
    assert lane.pending() == 1 and filed.ids == []
    lane.add(6)  # the lane starts again, and files what was left first
    try:
        deadline = time.monotonic() + 10
        while len(filed.ids) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert filed.ids == [5, 6]
    finally:
        lane.stop()
