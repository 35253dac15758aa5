"""The database under Sealflow: SQLite set up for concurrent writers, one chain of audit events
however many writers race."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.extensions import db
from processes import audit, audit_verify
from processes.db import (
    begin_reading,
    configure_engine,
    lock_request,
    retrying_deadlocks,
    unit_of_work,
    write_intent,
)
from processes.models import AuditEvent
from tests.conftest import PG_URL, only_task, submit


def test_the_database_is_the_one_configured_and_set_up_for_concurrent_writers(app):
    with app.app_context():
        conn = db.session.connection()
        dialect = conn.dialect.name
        if dialect == "sqlite":
            settings = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                        for p in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
        else:
            settings = {"isolation": conn.exec_driver_sql(
                "SHOW default_transaction_isolation").scalar()}
        db.session.rollback()
    if PG_URL:
        assert dialect == "postgresql"
        assert settings == {"isolation": "read committed"}
    else:
        assert dialect == "sqlite"
        assert settings == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1,
                            "busy_timeout": 30000}


def test_concurrent_writers_neither_fail_nor_fork_the_audit_chain(app, org, pdf):
    """Eight requests created at once, then their eight approvals at once."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda _i: submit(org.alice, org.seal_id, pdf), range(8)))
    assert [r.status_code for r in created] == [201] * 8, [r.get_json() for r in created]
    tasks = org.bob.get("/api/v1/tasks").get_json()
    assert len(tasks) == 8

    def complete(task):
        return org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                            json={"decision": "approve"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(complete, tasks)) == [200] * 8
    assert len(org.carol.get("/api/v1/tasks").get_json()) == 8
    with app.app_context():
        verdict = audit_verify.verify(db.session)
        db.session.rollback()
    assert verdict["ok"] is True, verdict
    assert verdict["events"] >= 8 * 4


def _chain_of(session) -> tuple[list[tuple[int, str]], dict]:
    """The log's (seq, action) in order, and what verification says of it."""
    with unit_of_work(session, write=False):
        rows = [tuple(r) for r in session.execute(
            select(AuditEvent.seq, AuditEvent.action).order_by(AuditEvent.seq)).all()]
        return rows, audit_verify.verify(session)


def test_two_processes_appending_in_turn_keep_one_unbroken_chain(app):
    """Two processes (two engines on one database) append in turn: on PostgreSQL each chains
    its events from the head it appended last, finds that the other appended since, and
    chains them again from the head found; on SQLite each reads the head under its lock."""
    with app.app_context():
        other = create_engine(db.engine.url)
        configure_engine(other)
        before = len(_chain_of(db.session)[0])
        try:
            for i in range(3):
                with unit_of_work(db.session):
                    audit.record(db.session, "test.one", n=i)
                with Session(other) as session, unit_of_work(session):
                    audit.record(session, "test.other", n=i)
                    audit.record(session, "test.other", n=i, second=True)
                with unit_of_work(db.session):  # this process again, right after itself
                    audit.record(db.session, "test.one", n=i, again=True)
            rows, verdict = _chain_of(db.session)
        finally:
            other.dispose()
    assert verdict["ok"] is True and verdict["events"] == before + 12, verdict
    assert [seq for seq, _action in rows] == list(range(1, before + 13))
    assert [action for _seq, action in rows[before:]] == \
        ["test.one", "test.other", "test.other", "test.one"] * 3


def test_two_processes_appending_at_once_keep_one_unbroken_chain(app):
    """Two processes, two threads each, appending at once."""
    with app.app_context():
        engine = db.engine
        other = create_engine(engine.url)
        configure_engine(other)
        before = len(_chain_of(db.session)[0])

    def append(engine) -> None:
        for i in range(10):
            with Session(engine) as session, unit_of_work(session):
                audit.record(session, "test.race", n=i)
                audit.record(session, "test.race", n=i, second=True)

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            for done in [pool.submit(append, each)
                         for each in (engine, engine, other, other)]:
                done.result(timeout=120)
        with app.app_context():
            rows, verdict = _chain_of(db.session)
    finally:
        other.dispose()
    assert verdict["ok"] is True and verdict["events"] == before + 80, verdict
    assert [seq for seq, _action in rows] == list(range(1, before + 81))


def test_the_same_task_completed_twice_at_once_completes_once(app, org, pdf):
    submit(org.alice, org.seal_id, pdf)
    task = only_task(org.bob)

    def complete(_i):
        return org.bob.post(f"/api/v1/tasks/{task['id']}/complete",
                            json={"decision": "approve"}).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = sorted(pool.map(complete, range(4)))
    assert codes == [200, 409, 409, 409]
    assert len(org.carol.get("/api/v1/tasks").get_json()) == 1


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's chain lock, taken at the commit")
def test_a_postgresql_writer_holds_up_no_other_writer_until_its_commit(app, org, pdf):
    """A writer that holds a request's row lock, with an audit event recorded, does not hold
    the audit chain's lock yet: an approval on another request commits meanwhile. The chain's
    lock is taken at the commit; the chain stays one."""
    held = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid() AND granted")
    first = submit(org.alice, org.seal_id, pdf).get_json()["id"]
    submit(org.alice, org.seal_id, pdf)
    task = next(t for t in org.bob.get("/api/v1/tasks").get_json() if t["request_id"] != first)
    with app.app_context(), unit_of_work(db.session):
        assert lock_request(db.session, first) is not None
        audit.record(db.session, "test.held", request_id=first)
        db.session.flush()
        assert db.session.execute(text(held)).scalar() == 0
        with ThreadPoolExecutor(max_workers=1) as pool:
            approval = pool.submit(lambda: org.bob.post(
                f"/api/v1/tasks/{task['id']}/complete", json={"decision": "approve"}))
            assert approval.result(timeout=20).status_code == 200
    with app.app_context():
        verdict = audit_verify.verify(db.session)
        last = db.session.execute(text(
            "SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1")).scalar()
        db.session.rollback()
    assert verdict["ok"] is True, verdict
    assert last == "test.held"  # chained at its commit, after the approval's events


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's deadlock detector")
def test_a_deadlocks_victim_is_run_again_and_both_writers_finish(app, org, pdf):
    """Two writers lock two requests' rows in opposite orders, each holding its first: a real
    deadlock. PostgreSQL ends one of them; it is run again and both finish."""
    rows = [submit(org.alice, org.seal_id, pdf).get_json()["id"] for _ in range(2)]
    both_hold_one = threading.Barrier(2, timeout=20)
    runs = {"forward": 0, "backward": 0}

    def writer(name: str, first: int, second: int) -> None:
        def run() -> None:
            runs[name] += 1
            with unit_of_work(db.session):
                lock_request(db.session, first)
                if runs[name] == 1:
                    both_hold_one.wait()
                lock_request(db.session, second)

        with app.app_context():
            try:
                retrying_deadlocks(run)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [pool.submit(writer, "forward", rows[0], rows[1]),
                pool.submit(writer, "backward", rows[1], rows[0])]
        for future in done:
            future.result(timeout=60)
    assert sorted(runs.values()) == [1, 2]  # the victim ran once more


def test_a_sqlite_writer_gets_the_lock_once_freed_and_gives_up_after_its_busy_timeout(tmp_path):
    """A writer asks again for the write lock while another holds it (processes.db re-asks
    every 50 ms): it gets it once the holder commits; held past its busy timeout, it fails
    with SQLite's 'locked' error; either way its connection keeps its busy timeout."""
    path = tmp_path / "locks.db"
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})
    configure_engine(engine, busy_timeout=0.3)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"), write_intent():
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        releases = threading.Timer(0.2, lambda: holder.execute("COMMIT"))
        releases.start()
        configure_engine(patient := create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False}), busy_timeout=30)
        with write_intent(), patient.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            timeout = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        releases.join()
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT x FROM t").scalars().all() == [2]
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 300
        assert timeout == 30000
        patient.dispose()
    finally:
        holder.close()
        engine.dispose()


def test_begin_reading_sends_its_read_with_the_begin_or_on_its_own(app):
    """The read's rows either way: in the round trip that begins the transaction (PostgreSQL,
    an engine with a lock timeout: the timeout set too), or as a statement of its own (another
    engine, SQLite, a transaction begun already)."""
    from sqlalchemy.orm import Session

    read = "SELECT 'tsa', 'x' UNION ALL SELECT 'issuing', NULL"
    with app.app_context():
        url = db.engine.url
        plain = Session(db.engine)
    timed = create_engine(url, connect_args={} if PG_URL else {"check_same_thread": False})
    configure_engine(timed, busy_timeout=5, lock_timeout=1.5)
    sent: list[str] = []
    event.listen(timed, "before_cursor_execute", lambda *args: sent.append(args[2]))
    try:
        for engine_session in (plain, Session(timed)):
            with engine_session as session, unit_of_work(session):
                assert sorted(begin_reading(session, read), key=str) == [
                    ("issuing", None), ("tsa", "x")]
                timeout = session.execute(text("SHOW lock_timeout")).scalar() if PG_URL \
                    else None
                assert begin_reading(session, "SELECT 'again'") == [("again",)]  # begun
            if PG_URL and session.get_bind() is timed:
                assert timeout == "1500ms"
                assert read not in sent  # it went with the BEGIN
        assert (read in sent) is not bool(PG_URL)  # SQLite: a statement of its own
    finally:
        timed.dispose()
