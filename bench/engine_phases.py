"""Where one API completion's time goes, without a profiler's overhead: wall-clock timers
around its phases (auth, lock, engine, advance, the ORM flush, the answer, the commit) and
around every SQL statement, for ``bench/engine.py --profile``.

The timers wrap module attributes for the duration of ``timed()`` only; phases nest (the flush
runs inside the answer's first query, the engine's save inside the advance), so the table says
which contains which."""

from __future__ import annotations

import contextlib
import functools
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

# (module, attribute, label): the label's indent says what it runs inside.
_PHASES = (
    ("processes.people.directory", "identity_from_token", "auth: the bearer token's identity"),
    ("processes.requests.tasks", "complete", "tasks.complete (the domain's work)"),
    ("processes.requests.tasks", "_locked_task",
     "  lock the request (+ audit head), load the task"),
    ("processes.flows.engine", "load", "  engine.load (state -> workflow)"),
    ("processes.flows.engine", "complete", "  engine.complete (run to the next wait)"),
    ("processes.requests.tasks", "advance", "  advance (inbox rows, save the state)"),
    ("processes.flows.engine", "save", "    engine.save (workflow -> state)"),
    ("processes.requests.views", "describe", "the answer: views.describe (+ autoflush)"),
    ("sqlalchemy.orm.session", "Session._flush", "  the ORM flush (writes everything)"),
    ("app.api.tasks", "jsonify", "the answer: jsonify"),
    ("processes.db", "_commit", "the commit"),
)


class Timers:
    def __init__(self) -> None:
        self.total: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self.sql_total = 0.0
        self.sql_calls = 0

    def clear(self) -> None:
        self.total.clear()
        self.calls.clear()
        self.sql_total = 0.0
        self.sql_calls = 0


def _wrap(timers: Timers, function: Any, label: str) -> Any:
    @functools.wraps(function)
    def timed_call(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            timers.total[label] += time.perf_counter() - t0
            timers.calls[label] += 1
    return timed_call


@contextlib.contextmanager
def timed(engine: Any) -> Iterator[Timers]:
    """Timers on the phases and on ``engine``'s statements, removed on the way out."""
    import importlib

    from sqlalchemy import event

    timers = Timers()
    undo = []
    for module_name, attribute, label in _PHASES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = owner.__dict__[name]
        setattr(owner, name, _wrap(timers, original, label))
        undo.append((owner, name, original))
    started: list[float] = []

    def before(*_args: Any) -> None:
        started.append(time.perf_counter())

    def after(*_args: Any) -> None:
        timers.sql_total += time.perf_counter() - started.pop()
        timers.sql_calls += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield timers
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def print_phases(timers: Timers, n: int, wall_s: float) -> None:
    print(f"\n--- one completion's phases, wall clock (no profiler), mean of {n} ---")
    print(f"  {'whole call (Flask test client, no HTTP)':<52} {wall_s / n * 1000:7.3f} ms")
    for _, _, label in _PHASES:
        if timers.calls[label]:
            print(f"  {label:<52} {timers.total[label] / n * 1000:7.3f} ms  "
                  f"({timers.calls[label] / n:.0f} call{'s' if timers.calls[label] > n else ''})")
    print(f"  {'all SQL statements inside the driver':<52} "
          f"{timers.sql_total / n * 1000:7.3f} ms  ({timers.sql_calls / n:.0f} statements)")
