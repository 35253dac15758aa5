"""A cycle's missed occurrences are skipped by arithmetic, whatever the number of them."""

from datetime import UTC, datetime, timedelta

import pytest

from processes.flows.expressions import ExpressionError
from processes.flows.timer_events import skip_missed

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = 86400.0


def _cycle(cycles: int, start: datetime, period: float = DAY) -> dict:
    return {"cycles": cycles, "next": start.isoformat(), "duration": period}


def test_arming_drops_what_is_past_and_starts_with_the_next_occurrence():
    value = skip_missed(_cycle(-1, datetime(1, 1, 1, 18, tzinfo=UTC)), NOW, keep_one=False)
    assert value == _cycle(-1, datetime(2026, 6, 1, 18, tzinfo=UTC))


def test_armed_and_missed_for_years_leaves_one_occurrence_due():
    value = skip_missed(_cycle(-1, datetime(2006, 6, 1, 18, tzinfo=UTC)), NOW, keep_one=True)
    assert value == _cycle(-1, datetime(2026, 5, 31, 18, tzinfo=UTC))


def test_a_bounded_cycle_counts_what_was_skipped():
    start = NOW - timedelta(days=3, hours=1)  # occurrences at -3d1h, -2d1h, -1d1h, -1h
    assert skip_missed(_cycle(10, start), NOW, keep_one=False) == _cycle(
        6, start + timedelta(days=4))
    assert skip_missed(_cycle(10, start), NOW, keep_one=True) == _cycle(
        7, start + timedelta(days=3))
    assert skip_missed(_cycle(2, start), NOW, keep_one=False)["cycles"] == 0
    assert skip_missed(_cycle(2, start), NOW, keep_one=True) == _cycle(
        1, start + timedelta(days=1))  # its last occurrence, still due: it fires once


def test_a_future_or_finished_cycle_is_left_alone():
    future = _cycle(-1, NOW + timedelta(hours=1))
    assert skip_missed(dict(future), NOW, keep_one=True) == future
    done = _cycle(0, NOW - timedelta(days=9))
    assert skip_missed(dict(done), NOW, keep_one=True) == done


@pytest.mark.parametrize("period", [0.0, 0.5, -DAY])
def test_a_period_under_a_second_would_fire_for_ever(period):
    with pytest.raises(ExpressionError, match="at least 1 second"):
        skip_missed(_cycle(-1, NOW, period), NOW, keep_one=True)
