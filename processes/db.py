"""Database plumbing: SQLite pragmas and write locks, row locks, and the one unit of work
(``unit_of_work``: commit or roll back, after-commit callbacks, per-transaction caches)."""

from __future__ import annotations

import contextvars
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import bindparam, event, func, insert, inspect, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session

from processes.models import Request

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Set for the duration of a unit of work that will write: on SQLite such a transaction starts
# with BEGIN IMMEDIATE, so it holds the write lock from its first read (no upgrade deadlocks).
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("sealflow_write",
                                                                     default=False)
# PostgreSQL: a plain read to send with the BEGIN of the next writer's transaction (see
# :func:`begin_reading`), and where its rows go.
_first_read: contextvars.ContextVar[tuple[str, list[list[tuple[Any, ...]]]] | None] = \
    contextvars.ContextVar("sealflow_first_read", default=None)

WRITE_LOCK_ASK_MS = 50
"""SQLite: how long a writer's BEGIN IMMEDIATE waits inside SQLite before it asks again."""

CHAIN_LOCK = 7261001
"""PostgreSQL: the audit chain's advisory lock, which a writing transaction takes at its
commit (``processes.audit``), the last lock it takes."""

SERIAL_LOCKS = {"process_versions": 7261002, "crl_numbers": 7261003, "idempotency_keys": 7261004}
"""PostgreSQL: advisory locks for numbers drawn as "the highest so far, plus one" (see
:func:`serialize`)."""


def configure_engine(engine: Engine, busy_timeout: float = 30.0,
                     lock_timeout: float | None = None) -> None:
    """Make an engine safe for concurrent writers. SQLite: WAL, foreign keys, and a writer's
    transaction starts with BEGIN IMMEDIATE (one writer at a time). PostgreSQL: writers run
    side by side, each taking the row locks it needs (a request's row before its grant's, a
    seal's usage counters in one order) and the audit chain's lock last, at its commit
    (``processes.audit``); readers are never held up. ``lock_timeout`` (PostgreSQL): a
    writer's waits for locks end after it (set in the round trip that begins it)."""
    if engine.dialect.name == "postgresql":
        if lock_timeout is not None:
            first = f"SET LOCAL lock_timeout = {int(lock_timeout * 1000)}"

            @event.listens_for(engine, "begin")
            def _on_pg_begin(conn: Any) -> None:
                if _write_intent.get():
                    _begin_writer(conn, first)
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is too late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if _write_intent.get():
            _begin_immediate(conn.connection.driver_connection, busy_timeout)
        else:
            conn.exec_driver_sql("BEGIN")


def serialize(session: Session, what: str) -> None:
    """Take ``what``'s lock (:data:`SERIAL_LOCKS`) to the end of the transaction, before a
    number is drawn as the highest so far plus one (a process's next version, the next CRL
    number): two such transactions then take turns. PostgreSQL only: a SQLite writer holds the
    database's write lock already. Take it before any row lock: no writer on the hot paths
    (requests, tasks, sealing) ever takes one, so it orders nothing else."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SERIAL_LOCKS[what])))


def serialize_on(session: Session, what: str, key: str) -> None:
    """As :func:`serialize`, for one ``key`` of ``what`` (an Idempotency-Key, say): two
    transactions on the same key take turns, others do not wait."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SERIAL_LOCKS[what],
                                                          func.hashtext(key))))


def _begin_writer(conn: Any, first: str) -> None:
    """PostgreSQL: BEGIN and ``first`` (the lock timeout) in one round trip. psycopg would send
    its BEGIN on its own before the statement (two waits on the server); sent together,
    psycopg finds the transaction open and sends none. Anything unexpected: the transaction is
    rolled back and the statement sent the ordinary way, which raises as SQLAlchemy raises."""
    from psycopg import Error as PsycopgError
    from psycopg.pq import ExecStatus, TransactionStatus

    raw = conn.connection.driver_connection
    pgconn = getattr(raw, "pgconn", None)
    read = _first_read.get()
    if pgconn is not None and pgconn.transaction_status == TransactionStatus.IDLE:
        sql = f"BEGIN; {first}" + (f"; {read[0]}" if read else "")
        result = pgconn.exec_(sql.encode())
        if result.status in (ExecStatus.COMMAND_OK, ExecStatus.TUPLES_OK):
            if read:  # the last statement's rows, as text
                read[1].append([tuple(
                    None if (v := result.get_value(r, c)) is None else v.decode()
                    for c in range(result.nfields)) for r in range(result.ntuples)])
            return
        try:
            raw.rollback()
        except PsycopgError:
            pass  # a broken connection: the statement below says so
    conn.exec_driver_sql(first)


def begin_reading(session: Session, read: str) -> list[tuple[Any, ...]]:
    """Begin the session's writing transaction with ``read`` (plain SQL whose columns are
    text) as its first statement; its rows. On PostgreSQL with a lock timeout (an engine
    configured with one) it goes in the round trip that begins the transaction, one wait on the
    server fewer; elsewhere, or in a transaction begun already, it is a statement of its own."""
    rows: list[list[tuple[Any, ...]]] = []
    token = _first_read.set((read, rows))
    try:
        session.connection()  # begins the transaction: the "begin" event sends it with read
    finally:
        _first_read.reset(token)
    if rows:
        return rows[0]
    return [tuple(row) for row in session.execute(text(read)).all()]


def autocommit(session: Session) -> None:
    """PostgreSQL: each statement of this unit of work commits on its own, with no BEGIN or
    COMMIT (two round trips fewer). Only for work that needs no transaction around its
    statements: one statement, or reads that need not share a snapshot. Called first in the
    unit of work; in one begun already, or on SQLite, it changes nothing."""
    own = session() if isinstance(session, scoped_session) else session  # Flask-SQLAlchemy's
    if own.get_bind().dialect.name == "postgresql" and not own.in_transaction():
        own.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _begin_immediate(raw: sqlite3.Connection, busy_timeout: float) -> None:
    """BEGIN IMMEDIATE, asking again every :data:`WRITE_LOCK_ASK_MS` until ``busy_timeout``.
    SQLite's own wait backs off to sleeps of 100 ms, and a writer that sleeps loses the lock to
    those that come after it: under a stream of writers one could wait its whole timeout."""
    deadline = time.monotonic() + busy_timeout
    raw.execute(f"PRAGMA busy_timeout = {WRITE_LOCK_ASK_MS}")
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                if not busy or time.monotonic() >= deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from None
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")


def begin_write_intent() -> contextvars.Token:
    """Mark everything until ``end_write_intent`` as a writer (a web request that writes)."""
    return _write_intent.set(True)


def is_writer() -> bool:
    """Whether transactions started now are writers (see ``configure_engine``)."""
    return _write_intent.get()


def end_write_intent(token: contextvars.Token) -> None:
    _write_intent.reset(token)


@contextmanager
def write_intent(enabled: bool = True) -> Iterator[None]:
    """Mark the transactions started inside this block as writers (see ``configure_engine``)."""
    token = _write_intent.set(enabled)
    try:
        yield
    finally:
        _write_intent.reset(token)


# populate_existing: the row as it stands once the lock is granted, even when the session
# holds the request already (read earlier in this transaction, or in an earlier one: sessions
# keep their objects across commits). PostgreSQL's writers run side by side, so a status read
# before the lock may have changed by the time it is granted.
_LOCK_REQUEST = (select(Request).where(Request.id == bindparam("rid"))
                 .with_for_update(of=Request).execution_options(populate_existing=True))


def lock_request(session: Session, request_id: int) -> Request | None:
    """Load a request holding its row lock (``FOR UPDATE``; SQLite's lock is the transaction's),
    its attributes as they stand now."""
    return session.execute(_LOCK_REQUEST, {"rid": request_id}).scalar_one_or_none()


# Writing now, without the unit of work: on the hot paths (a task's completion) the flush's
# bookkeeping for a handful of rows cost several times the statements themselves. The
# statements are built once per table (their compiled form is cached by the columns given).
_writes: dict[Any, tuple[Any, Any, list[str]]] = {}


def _statements(mapper: Any) -> tuple[Any, Any, list[str]]:
    """``mapper``'s UPDATE by primary key, its INSERT, and the primary key's parameters."""
    found = _writes.get(mapper)
    if found is None:
        table = mapper.local_table
        names = [f"_sealflow_pk{i}" for i in range(len(mapper.primary_key))]
        where = [col == bindparam(name) for col, name in zip(mapper.primary_key, names,
                                                             strict=True)]
        found = _writes[mapper] = (update(table).where(*where), insert(table), names)
    return found


def update_now(session: Session, obj: Any) -> None:
    """Write ``obj``'s changed columns at once, in one Core UPDATE by primary key, and mark
    them written, so that the flush has nothing of ``obj`` left to do. When a relationship of
    ``obj`` changed (a new document, say), it is left to the flush, which orders such writes.
    Sends no autoflush: what the transaction holds back waits as it would have."""
    state = inspect(obj)
    changed = state.committed_state
    if not changed or not state.persistent:
        return
    columns = state.mapper.column_attrs
    if any(key not in columns for key in changed):
        return
    stmt, _insert, names = _statements(state.mapper)
    params = {columns[key].columns[0].key: state.dict[key] for key in changed}
    params.update(zip(names, state.identity, strict=True))
    session.connection().execute(stmt, params)
    state._commit_all(state.dict, session.identity_map)  # written: nothing for the flush


_inserts_returning: dict[Any, Any] = {}


def insert_now(session: Session, obj: Any) -> None:
    """Write a new ``obj`` at once, in one Core INSERT of its columns, and make it a persistent
    object of ``session`` as if it had been loaded (no flush). A primary key left unset (a
    request's number) is the database's, read back by RETURNING; one set is written as given
    (a task's id is SpiffWorkflow's). A column it was not given is NULL (one with a default
    must be given). Its foreign keys must be set: only its own row is written, and a
    relationship set on it is kept as loaded, not written."""
    state = inspect(obj)
    params = {}
    generated = None
    for prop in state.mapper.column_attrs:
        column = prop.columns[0]
        if column.primary_key and state.dict.get(prop.key) is None:
            if generated is not None:
                raise ValueError("insert_now: one primary key column may be left unset")
            generated = prop
            continue
        if prop.key not in state.dict:
            if column.default is not None or column.server_default is not None:
                raise ValueError(f"insert_now: {prop.key} has a default: give its value")
            state.dict[prop.key] = None  # loaded as NULL, not expired (no SELECT for it)
        params[column.key] = state.dict[prop.key]
    if generated is None:
        session.connection().execute(_statements(state.mapper)[1], params)
    else:
        stmt = _inserts_returning.get(state.mapper)
        if stmt is None:
            stmt = _inserts_returning[state.mapper] = insert(state.mapper.local_table).returning(
                generated.columns[0])
        state.dict[generated.key] = session.connection().execute(stmt, params).scalar_one()
    make_transient_to_detached(obj)
    session.add(obj)


# What waits for the commit, and the session.info keys that live as long as one transaction.
_AFTER_COMMIT = "sealflow_after_commit"
_per_transaction: list[str] = []


def on_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run ``callback`` after the current transaction commits (dropped on rollback)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def transaction_cache(key: str) -> str:
    """Register ``key`` as a ``session.info`` entry that holds what one transaction remembers
    (the audit chain's head, say): commit and rollback forget it. Each module registers its
    own key, once, where it defines it; returns the key."""
    if key not in _per_transaction:
        _per_transaction.append(key)
    return key


def _forget(session: Session) -> None:
    for key in _per_transaction:
        session.info.pop(key, None)


def _commit(session: Session) -> None:
    """Commit, then run what waited for the commit."""
    session.commit()
    _forget(session)
    callbacks = session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        callback()


def _rollback(session: Session) -> None:
    """Roll back, dropping the callbacks that waited for a commit and the transaction's
    caches."""
    session.rollback()
    session.info.pop(_AFTER_COMMIT, None)
    _forget(session)


@contextmanager
def unit_of_work(session: Session, write: bool = True) -> Iterator[Session]:
    """One unit of work, owned by whatever starts the work (an HTTP request, a CLI command, a
    job step): commit at the end, then run the after-commit callbacks; on any error roll back,
    dropping them, and re-raise. ``write=False``: a transaction that only reads (on SQLite it
    then starts without the write lock). Domain functions never open one: they flush."""
    with write_intent(write):
        try:
            yield session
            _commit(session)
        except BaseException:
            _rollback(session)
            raise


DEADLOCK_TRIES = 3
"""How many times a unit of work a deadlock ended is run in all (:func:`retrying_deadlocks`)."""


def is_deadlock(exc: BaseException) -> bool:
    """PostgreSQL ended the transaction to break a deadlock (SQLSTATE 40P01)."""
    return isinstance(exc, DBAPIError) and \
        getattr(exc.orig, "sqlstate", None) == "40P01"


def retrying_deadlocks(run: Callable[[], T]) -> T:
    """Run ``run`` (a whole unit of work: it rolls back on any error), and again when
    PostgreSQL chose it as a deadlock's victim: writers take their locks in one order, but
    PostgreSQL's writers run side by side, and an order no rule here foresaw must cost a
    moment, not a failed request or a sealing job left to its lease."""
    for attempt in range(1, DEADLOCK_TRIES + 1):
        try:
            return run()
        except DBAPIError as exc:
            if not is_deadlock(exc) or attempt == DEADLOCK_TRIES:
                raise
            logger.warning("a deadlock ended the transaction; running it again (%d of %d)",
                           attempt + 1, DEADLOCK_TRIES)
    raise AssertionError("unreachable")
