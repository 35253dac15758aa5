"""The built-in TSA's transactions: what a refused request leaves (nothing, no serial drawn),
and on PostgreSQL its certificates read in the round trip that begins its one transaction."""

from __future__ import annotations

import pytest
from asn1crypto import tsp
from pyhanko.sign.timestamps import TimestampRequestError
from sqlalchemy import event
from sqlalchemy.engine import Engine

import signer
from tests.conftest import PG_URL
from tests.e2e.test_tsa import _ask, _granted_events, _rows, _serial


def test_in_process_a_refused_request_writes_nothing_and_draws_no_serial(app, client):
    before = _serial(_ask(app, client, signer.timestamp_request(b"x"), "in-process"))
    sha1 = tsp.TimeStampReq({"version": "v1", "message_imprint": {
        "hash_algorithm": {"algorithm": "sha1"}, "hashed_message": bytes(20)}}).dump()
    with pytest.raises(TimestampRequestError, match="bad_alg"):
        _ask(app, client, sha1, "in-process")
    assert [row.id for row in _rows(app)] == [before]
    assert set(_granted_events(app)) == {before}
    after = _serial(_ask(app, client, signer.timestamp_request(b"y"), "in-process"))
    assert after == before + 1  # the refusal drew none


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL's round trips; SQLite reads first")
def test_in_process_the_certificates_are_read_with_the_begin_on_postgresql(app, client):
    """The built-in TSA's one transaction: its certificates read in the round trip that begins
    it (with its lock timeout), not in a statement, nor a transaction, of their own."""
    _ask(app, client, signer.timestamp_request(b"x"), "in-process")  # the authority built
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split())[:60])

    event.listen(Engine, "before_cursor_execute", record)
    try:
        _ask(app, client, signer.timestamp_request(b"y"), "in-process")
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    # The audit chain's lock goes with the events' INSERT, in one statement.
    assert [s.split(" (")[0] for s in seen] == [
        "INSERT INTO tsa_serials", "SELECT pg_advisory_xact_lock(7261001); WITH added AS"], seen
