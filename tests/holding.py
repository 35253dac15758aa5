"""Two transactions at once, in a set order: the first does its work in a unit of work of its
own and is held open (not committed) while a second starts and is seen waiting for it; then the
first commits and the second goes on. How the race tests stage what PostgreSQL's writers, side
by side, could meet (on SQLite the second waits for the write lock)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from app.extensions import db
from processes.db import unit_of_work

WAIT = 20  # seconds: how long anything here waits before the test fails


@contextmanager
def held_open(app: Any, work: Callable[[Session], Any]) -> Iterator[list[Any]]:
    """``work(session)`` in a unit of work on a thread of its own, its transaction held open for
    the ``with`` block and committed at its end; yields a list that holds work's result."""
    holding, let_go = threading.Event(), threading.Event()
    done: list[Any] = []
    failed: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                with unit_of_work(db.session):
                    done.append(work(db.session))
                    holding.set()
                    let_go.wait(timeout=WAIT)
            except BaseException as exc:  # noqa: BLE001 - raised in the test's thread
                failed.append(exc)
                holding.set()
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    assert holding.wait(timeout=WAIT)
    if failed:
        raise failed[0]
    try:
        yield done
    finally:
        let_go.set()
        thread.join(timeout=WAIT)
    if failed:
        raise failed[0]


def waiting(call: Callable[[], Any]) -> Callable[[], Any]:
    """Start ``call`` on a thread and check it is still waiting a second later (for a
    transaction ``held_open`` holds); returns what gives its result once it is let go."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:  # noqa: BLE001 - raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=1)
    assert thread.is_alive(), "it did not wait for the held transaction"

    def result() -> Any:
        thread.join(timeout=WAIT)
        if "error" in box:
            raise box["error"]
        return box["result"]

    return result
