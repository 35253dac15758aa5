"""PostgreSQL: the audit chain's lock and its events in one round trip.

A writer does not read the chain's head before it appends: it chains its events from the head
this process appended last (known once that commit is done, :func:`remember`), and sends the
chain's advisory lock and one INSERT of its events together. The INSERT lands only if the
chain's head is still the one it was chained from (a statement after the lock, under READ
COMMITTED, sees every chain committed before the lock was granted), and answers the head it
found either way. When another process appended meanwhile nothing lands; the events are
chained again from the head found (the lock is held: it cannot move) and sent again. So the
chain never forks and its numbers stay gapless; a writer that follows another process pays
the round trip it paid before (the head read), one that follows itself saves it.

The statements go as one simple query with the events as a JSON literal (escaped by libpq):
one ``json.dumps`` for the batch, no parameters to adapt, and ``json_populate_recordset``
turns it into rows of the table. The ``details`` column keeps the JSON text ``json.dumps``
gives, as SQLAlchemy's JSON type wrote it."""

from __future__ import annotations

import json
import threading
import weakref
from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from processes.audit_keys import GENESIS
from processes.db import CHAIN_LOCK

# The order of a batch's columns does not matter: json_populate_recordset takes them by name.
_COLUMNS = ("seq, at, actor_id, actor, action, request_id, seal_id, details, prev_hash, hash, "
            "mac, key_id")
LOCK = f"SELECT pg_advisory_xact_lock({CHAIN_LOCK})"
# {rows}: the batch, {prev}: the hash it was chained from. Answers the head before the INSERT
# ("hash:mac:seq", NULL on an empty log) and how many rows it wrote (all or none). Every part
# of one statement sees the same snapshot: the head before the rows.
_LAST = "FROM audit_events ORDER BY seq DESC LIMIT 1"
APPEND = (
    f"WITH added AS (INSERT INTO audit_events ({_COLUMNS}) SELECT {_COLUMNS} "
    "FROM json_populate_recordset(NULL::audit_events, {rows}) "
    f"WHERE coalesce((SELECT hash {_LAST}), '{GENESIS}') = {{prev}} RETURNING 1) "
    f"SELECT (SELECT hash || ':' || coalesce(mac, '') || ':' || seq {_LAST}), "
    "(SELECT count(*) FROM added)")
_JSON = json.JSONEncoder()  # json.dumps's own format, as the details column had it

_lock = threading.Lock()
_last: weakref.WeakKeyDictionary[Engine, tuple[int, str]] = weakref.WeakKeyDictionary()
"""The head this process appended last on each engine's database: (seq, "hash:mac:seq")."""


def guess(engine: Engine) -> str | None:
    """The head this process appended last on ``engine``'s database, if it appended."""
    found = _last.get(engine)
    return found[1] if found is not None else None


def remember(engine: Engine, seq: int, head: str) -> None:
    """After a commit that appended up to ``seq``: the next append's guess (threads may finish
    their commits out of order: the newest is kept)."""
    with _lock:
        found = _last.get(engine)
        if found is None or found[0] < seq:
            _last[engine] = (seq, head)


def batch(rows: list[dict[str, Any]]) -> str:
    """The rows as the JSON array ``APPEND`` takes (``at`` as ISO text, with its offset)."""
    return _JSON.encode([{**row, "at": row["at"].isoformat()} for row in rows])


def send(connection: Connection, sql: str) -> tuple[str | None, int]:
    """Run ``sql`` (statements ending in ``APPEND``) in one round trip: the head before and
    the rows written. In a transaction begun already (a request's, which read first) through
    SQLAlchemy's connection, so that its events see it and its errors (a lock timeout, a
    deadlock) are raised as SQLAlchemy raises them; in one not begun yet, with the BEGIN on the
    driver's connection (psycopg would send its BEGIN on its own first: a round trip more)."""
    from psycopg.errors import error_from_result
    from psycopg.pq import ExecStatus, TransactionStatus

    pgconn = connection.connection.driver_connection.pgconn  # type: ignore[union-attr]
    if pgconn.transaction_status == TransactionStatus.IDLE:
        sql = f"BEGIN; {sql}"
        result = pgconn.exec_(sql.encode())
        if result.status != ExecStatus.TUPLES_OK:
            raise OperationalError(sql[:200], None, error_from_result(result))
        head, written = result.get_value(0, 0), result.get_value(0, 1)
        return (head.decode() if head is not None else None), int(written)
    answer = connection.execution_options(no_parameters=True).exec_driver_sql(sql)
    cursor = answer.cursor  # psycopg: one result per statement, the last one's wanted
    while cursor.nextset():
        pass
    found, count = cursor.fetchone() or (None, 0)
    answer.close()
    return found, int(count)


def statement(pgconn: Any, rows: list[dict[str, Any]], prev: str) -> str:
    """``APPEND`` for ``rows`` chained from ``prev``, the values as escaped literals."""
    from psycopg.pq import Escaping

    escape = Escaping(pgconn).escape_literal
    return APPEND.format(rows=escape(batch(rows).encode()).decode(),
                         prev=escape(prev.encode()).decode())
