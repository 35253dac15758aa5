"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

from processes.requests import timers
from tests.e2e.browser_pages import browser, demo_server  # noqa: F401 - the browser tests' fixtures


class Clock:
    """Moves SpiffWorkflow's and Sealflow's idea of now forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> datetime:
        self.offset += timedelta(**delta)
        return self.now()

    def set(self, when: datetime) -> datetime:
        self.offset = when - datetime.now(UTC)
        return self.now()


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()

    class ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + c.offset

    monkeypatch.setattr(spiff_timer, "datetime", ShiftedDatetime)
    monkeypatch.setattr(timers, "utcnow", c.now)
    monkeypatch.setattr("app.jobs.utcnow", c.now)
    return c
