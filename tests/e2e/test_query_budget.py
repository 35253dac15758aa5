"""Per-request work stays small: the statements one task completion sends to the database."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from app.extensions import db
from processes.db import is_writer, unit_of_work
from tests.conftest import PG_URL, approve, only_task, submit


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


@contextmanager
def transactions(app):
    """The statements, each transaction's begun by a line that says whether it writes."""
    with app.app_context():
        engine = db.engine

    with statements(app) as seen:
        def begin(_conn):
            seen.append("BEGIN (writer)" if is_writer() else "BEGIN (reader)")

        event.listen(engine, "begin", begin)
        try:
            yield seen
        finally:
            event.remove(engine, "begin", begin)


def _chain(statement: str) -> bool:
    """PostgreSQL's audit chain at a writer's commit: its advisory lock, sent with the events'
    INSERT."""
    return "pg_advisory" in statement or statement.startswith("SELECT SELECT audit_events.hash")


def _writes(seen: list[str]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for s in seen:
        kind = "INSERT" if "INTO audit_events" in s else s.split()[0]  # PostgreSQL: the lock's
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def test_completing_a_task_costs_a_bounded_number_of_statements(app, org, pdf):
    submit(org.alice, org.seal_id, pdf)
    task = only_task(org.bob)
    with statements(app) as seen:
        resp = org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                            json={"decision": "approve"})
    assert resp.status_code == 200
    # PostgreSQL takes the audit chain's advisory lock at the commit, sent with the events'
    # INSERT (SQLite reads the head with the request's lock).
    lock = [s for s in seen if _chain(s)]
    selects = [s for s in seen if s.startswith("SELECT") and s not in lock]
    # The token; the request locked through the task, with the task, the caller's visibility
    # and candidacy, whether another task of it is open (none here: the open tasks are not
    # read again) and on SQLite the audit chain's head; the next task's performers (with their
    # deputies, if away); the response's history. The writes, each one plain statement (no
    # unit of work): the task done and its candidate rows closed (an inbox reads open ones
    # only), the next task and its candidate, the notice to its people (with their e-mail
    # addresses, read by the same INSERT), the request, the audit events in one INSERT.
    assert len(selects) <= 4, "\n".join(seen)
    assert len([s for s in seen if "INTO audit_events" in s]) == 1, "\n".join(seen)
    assert _writes(seen).get("UPDATE") == 3 and _writes(seen).get("INSERT") == 4, \
        "\n".join(seen)
    assert len([s for s in seen if "INTO notices" in s]) == 1, "\n".join(seen)
    assert len(seen) - len(lock) <= 11, "\n".join(seen)


def test_the_approval_that_authorizes_costs_a_bounded_number_of_statements(app, org, pdf):
    """The last approval: the approvals counted, the seal's policy and its quotas, the grant."""
    submit(org.alice, org.seal_id, pdf)
    approve(org.bob)
    task = only_task(org.carol)
    with statements(app) as seen:
        resp = org.carol.post(f"/api/v1/tasks/{task['id']}/complete",
                              json={"decision": "approve"})
    assert resp.status_code == 200
    assert resp.get_json()["request"]["status"] == "authorized"
    # Up to the answer's history (its total counted beside it), not the sealing job after it.
    history = next(s for s in seen if "users_1.name AS name_1, users_1.display_name" in s)
    end = seen.index(history) + 1
    while end < len(seen) and (_chain(seen[end]) or "INTO audit_events" in seen[end]):
        end += 1  # PostgreSQL: the audit chain's lock with the events, at the commit
    seen = seen[:end]
    lock = [s for s in seen if _chain(s)]
    # As above (no next task), then the approvals given, the seal's policy, one upsert for
    # both counted periods (total, this month), the grant; the request's row written once; the
    # task's candidate rows closed (an inbox reads open ones only).
    assert len([s for s in seen if "UPDATE requests " in s]) == 1, "\n".join(seen)
    assert len([s for s in seen if "INTO audit_events" in s]) == 1, "\n".join(seen)
    assert len([s for s in seen if "INTO seal_usage" in s]) == 1, "\n".join(seen)
    assert len(seen) - len(lock) <= 11, "\n".join(seen)


def test_filing_a_request_writes_in_a_bounded_number_of_statements(app, org, pdf):
    """The checks, the PDF and the instance's first run are read before the writing
    transaction; it writes the rows as plain statements."""
    submit(org.alice, org.seal_id, pdf)
    with transactions(app) as seen:
        resp = submit(org.alice, org.seal_id, pdf)
    assert resp.status_code == 201
    assert [s for s in seen if s.startswith("BEGIN (")] == ["BEGIN (reader)", "BEGIN (writer)"]
    reading = seen[seen.index("BEGIN (reader)") + 1:seen.index("BEGIN (writer)")]
    # The caller's token; the flow with its business type; the seal with its custodians, its
    # policy and what a refusal depends on; the document by its hash; the requester's groups
    # with their heads; the first task's performers.
    assert len([s for s in reading if s.startswith("SELECT")]) <= 6, "\n".join(reading)
    writing = seen[seen.index("BEGIN (writer)") + 1:]
    lock = [s for s in writing if _chain(s)]
    # One read: the seal's status and policy again, with the audit chain's head (PostgreSQL:
    # the chain's lock with the events at the commit). Five writes: the request (with its instance's
    # state), its task and candidate, the notice to the task's people, the audit events. (A
    # new document adds its row.)
    assert len([s for s in writing if s.startswith("SELECT") and s not in lock]) <= 1, \
        "\n".join(writing)
    assert len([s for s in writing if s.startswith("UPDATE")]) == 0, "\n".join(writing)
    assert len([s for s in writing if "INTO audit_events" in s]) == 1, "\n".join(writing)
    assert len(writing) - len(lock) <= 6, "\n".join(writing)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's plan; PostgreSQL's planner chooses by size")
def test_a_completions_history_is_read_by_the_index_not_by_sorting_all_of_it(app, org, pdf):
    """The answer's latest entries come off the index in order, and their total is a count of
    it: a request a thousand rounds of revision old costs no more to work than a new one (a
    window count over the rows read and sorted every done task: +1 ms at 800)."""
    from processes.requests.views import _RECENT_HISTORY
    rid = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    with app.app_context():
        conn = db.session.connection()
        compiled = _RECENT_HISTORY.compile(conn)
        params = {**compiled.params, "rid": rid, "limit": 20}
        plan = "\n".join(str(row[-1]) for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(compiled),
            tuple(params[name] for name in compiled.positiontup)))
    assert "TEMP B-TREE" not in plan, plan
    assert "ix_tasks_request_status" in plan, plan


def test_signing_reads_the_grant_request_seal_and_policy_in_one_statement(app, org, pdf):
    """The sealing job's signing step: one statement (the grant, its request with its process,
    requester and document, its seal and the seal's policy), nothing loaded lazily after it;
    the seal's CA chain only the first time its signer is built."""
    from app.context import env
    from app.jobs import runner
    from processes.models import SigningGrant
    from processes.requests import grant_leases, sealing

    runner(app).mode = "external"
    submit(org.alice, org.seal_id, pdf)
    approve(org.bob)
    approve(org.carol)
    with app.app_context():
        grant_id = db.session.execute(select(SigningGrant.id)).scalar_one()
        db.session.rollback()
        with unit_of_work(db.session):
            lease = grant_leases.take_lease(db.session, grant_id, lease_seconds=60)
        assert lease is not None
        with unit_of_work(db.session, write=False):
            sealing.sign(db.session, env(), lease)  # the seal's signer built, and kept
        db.session.remove()
        seen: list[str] = []

        def record(_conn, _cursor, statement, *_args):
            if statement != "BEGIN":  # SQLite's, sent as a statement
                seen.append(" ".join(statement.split()))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            with unit_of_work(db.session, write=False):
                sealing.sign(db.session, env(), lease)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 1, "\n".join(seen)
    assert all(f"JOIN {table} " in seen[0] for table in ("requests", "seals", "users",
                                                         "process_definitions", "documents")), \
        seen[0]
    assert "seal_policies" in seen[0] and "seal_custodians" not in seen[0], seen[0]


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's autocommit; SQLite's transactions are local")
def test_the_sealing_jobs_lease_and_signing_are_single_statements_without_begin_or_commit(
        app, org, pdf):
    """PostgreSQL: leasing (one statement) and signing (one, the seal's signer kept) run with
    no transaction around them, two round trips fewer each; recording stays one transaction."""
    from app.context import env
    from app.grant_poller import GrantPoller
    from app.jobs import runner, seal_grant, seal_leased
    from processes.models import SigningGrant

    runner(app).mode = "external"
    for _ in range(2):
        submit(org.alice, org.seal_id, pdf)
        approve(org.bob)
        approve(org.carol)
    seen: list[tuple[str, bool]] = []
    ours = threading.get_ident()

    def record(conn, _cursor, statement, *_args):
        # This thread's only: the first sealing's archive filing runs in a job thread meanwhile.
        if threading.get_ident() == ours:
            seen.append((" ".join(statement.split())[:30],
                         conn.connection.driver_connection.autocommit))

    with app.app_context():
        first, second = db.session.execute(
            select(SigningGrant.id).order_by(SigningGrant.id)).scalars()
        db.session.rollback()
        assert seal_grant(db.session, env(), first)  # the seal's signer built, and kept
        db.session.remove()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            leases: list = []
            poller = GrantPoller(app, leases.append, threads=1)
            assert poller.poll() == 1
            poller.stop()  # its sealing thread done
            assert [lease.grant_id for lease in leases] == [second]
            assert seal_leased(db.session, env(), leases[0])
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
            db.session.remove()
    lease, sign, *recording = seen
    assert lease[0].startswith("WITH due AS") and lease[1], seen
    assert sign[0].startswith("SELECT signing_grants.") and sign[1], seen
    assert recording and not any(autocommit for _, autocommit in recording), seen
