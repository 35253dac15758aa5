"""Long commands (an export, re-checking the archive): stopped by Ctrl-C between two items,
with what was done kept and a way to resume printed."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

INTERRUPTED = 130
"""The exit status of a command stopped by Ctrl-C (128 + SIGINT), as a shell's."""


@contextmanager
def stop_on_interrupt() -> Iterator[list[bool]]:
    """While inside: the first SIGINT only asks to stop (the list becomes true), so that a
    long command stops between two items; the next one interrupts as usual."""
    stopped: list[bool] = []

    def ask(_signum: int, _frame: object) -> None:
        stopped.append(True)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, ask)
    try:
        yield stopped
    finally:
        signal.signal(signal.SIGINT, previous)
