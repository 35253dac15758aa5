"""Per-request work stays small: the statements one task completion sends to the database."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db
from tests.conftest import only_task, submit


@contextmanager
def statements(app):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement.split()[0] + " " + statement[:140].replace("\n", " "))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_completing_a_task_costs_a_bounded_number_of_statements(app, org, pdf):
    submit(org.alice, org.seal_id, pdf)
    task = only_task(org.bob)
    with statements(app) as seen:
        resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                            json={"decision": "approve"})
    assert resp.status_code == 200
    # PostgreSQL also takes the audit chain's advisory lock: a statement of its own.
    selects = [s for s in seen if s.startswith("SELECT") and "pg_advisory" not in s]
    # The token; the request locked through the task, with the task, the caller's visibility
    # and candidacy and the audit chain's head; the open tasks; the next task's performers; the
    # response's history. Then one flush: the audit events in one INSERT, the request, the task
    # done, the next task and its candidate (and SQLite's BEGIN IMMEDIATE).
    assert len(selects) <= 5, "\n".join(seen)
    assert len([s for s in seen if "INTO audit_events" in s]) == 1, \
        "\n".join(seen)
    assert len(seen) <= 11, "\n".join(seen)
