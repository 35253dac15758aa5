"""Tampering with a 10,000-event audit log (issue 13, "Tests that prove it"): each kind at 100
random positions (a changed field, a deleted row, an inserted row, two rows swapped, the chain
recomputed without the key, the events cut from a position to the end, the last 10 among
them), every one found at the right event.

The log is written once per module as requests write it (commits of 10, the head file after
each, an anchor from the built-in TSA half-way). Each tampering happens in a SAVEPOINT, rolled
back after its check; the check starts from the last keyed checkpoint before the tampered
event (a first walk of the whole log keeps one every 250 events), as ``sealflow audit verify
--checkpoint`` resumes, and one of each kind is also checked from the first event.

Minutes on a shared machine (the chain recomputed from 100 positions rewrites 500,000 rows): a
long sweep, marked ``once`` (`make test` runs it); tests/processes/test_audit_chain.py checks
each kind of finding at one position in the quick suite."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, insert, select, text, update

from app.audit_jobs import anchor_audit
from app.context import env
from app.extensions import db
from processes import audit, audit_verify
from processes.db import unit_of_work, write_intent
from processes.models import AuditEvent
from tests.conftest import _app

pytestmark = pytest.mark.once

EVENTS = 10_000
POSITIONS = 100
EVERY = 250
TABLE = AuditEvent.__table__
COLUMNS = [c.name for c in TABLE.columns if c.name != "seq"]


@dataclass
class Log:
    app: object
    last: int
    checkpoints: list[audit_verify.Position]

    def start_before(self, seq: int) -> audit_verify.Position:
        return max((p for p in self.checkpoints if p.seq < seq),
                   key=lambda p: p.seq, default=audit_verify.Position())


@pytest.fixture(scope="module")
def log(tmp_path_factory, pki_material) -> Iterator[Log]:
    for app in _app(tmp_path_factory.mktemp("tampering"), pki_material):
        with app.app_context():
            for batch in range(EVENTS // 10):
                with unit_of_work(db.session):
                    for i in range(10):
                        n = batch * 10 + i
                        audit.record(db.session, "request.task_completed", request_id=n // 7,
                                     seal_id=n % 3 or None, task=f"审批 {n}", decision="approve")
                if batch == EVENTS // 20:
                    anchor_audit(db.session, env())
            checkpoints: list[audit_verify.Position] = []
            with unit_of_work(db.session, write=False):
                report = audit_verify.verify(db.session, progress=checkpoints.append,
                                             every=EVERY)
            assert report["ok"] is True and report["anchors"] == 1, report
            yield Log(app, report["last_seq"], checkpoints)


def _rows(seqs: list[int]) -> dict[int, dict]:
    found = db.session.execute(select(TABLE).where(TABLE.c.seq.in_(seqs))).mappings()
    return {row["seq"]: dict(row) for row in found}


def changed_field(p: int, rng: random.Random) -> int:
    field = rng.choice([("actor", "mallory"), ("action", "request.cancelled"),
                        ("details", {"task": "伪造"}), ("request_id", 99_999)])
    db.session.execute(update(TABLE).where(TABLE.c.seq == p).values(dict([field])))
    return p


def deleted_row(p: int, rng: random.Random) -> int:
    db.session.execute(delete(TABLE).where(TABLE.c.seq == p))
    return p + 1  # the first event that no longer follows the one before it


def _shift_after(p: int) -> None:
    """Make room after ``p`` (two steps: a unique key is checked row by row)."""
    db.session.execute(update(TABLE).where(TABLE.c.seq > p).values(seq=-TABLE.c.seq - 1))
    db.session.execute(update(TABLE).where(TABLE.c.seq < 0).values(seq=-TABLE.c.seq))


def inserted_row(p: int, rng: random.Random) -> int:
    """A forged event after ``p``, chained on it as the public layer wants, its MAC a guess."""
    before = _rows([p])[p]
    _shift_after(p)
    forged = {"at": before["at"], "actor": "mallory", "action": "seal.used",
              "request_id": 1, "seal_id": 1, "details": {"note": "盖章"}, "actor_id": None}
    forged["prev_hash"] = before["hash"]
    forged["hash"] = audit.digest(before["hash"], forged["at"], "mallory", "seal.used", 1, 1,
                                  forged["details"])
    forged.update(seq=p + 1, key_id=before["key_id"], mac=f"{rng.getrandbits(256):064x}")
    db.session.execute(insert(TABLE).values(forged))
    return p + 1


def swapped_rows(p: int, rng: random.Random) -> int:
    q = rng.randint(p + 1, min(p + 50, LAST[0]))
    rows = _rows([p, q])
    for seq, other in ((p, q), (q, p)):
        db.session.execute(update(TABLE).where(TABLE.c.seq == seq)
                           .values({c: rows[other][c] for c in COLUMNS}))
    return p


def recomputed_without_the_key(p: int, rng: random.Random) -> int:
    """A field changed and every hash from there on recomputed: what someone who can write the
    database but lacks the key can do."""
    changed_field(p, rng)
    rows = db.session.execute(select(TABLE).where(TABLE.c.seq >= p).order_by(TABLE.c.seq)) \
        .mappings().all()
    prev = rows[0]["prev_hash"]
    new = []
    for row in rows:
        prev = audit.digest(prev, row["at"], row["actor"], row["action"], row["request_id"],
                            row["seal_id"], row["details"])
        new.append({"s": row["seq"], "p": new[-1]["h"] if new else row["prev_hash"], "h": prev})
    db.session.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                       new)
    return p


def cut_from(p: int, rng: random.Random) -> int:
    db.session.execute(delete(TABLE).where(TABLE.c.seq >= p))
    return p


LAST = [0]
KINDS: list[Callable[[int, random.Random], int]] = [
    changed_field, deleted_row, inserted_row, swapped_rows, recomputed_without_the_key, cut_from]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_each_tampering_is_found_at_the_right_event(log, kind):
    rng = random.Random(f"issue-13-{kind.__name__}")
    LAST[0] = log.last
    positions = rng.sample(range(2, log.last), POSITIONS)
    if kind is cut_from:
        positions[0] = log.last - 9  # the last 10 events
    missed = []
    with log.app.app_context(), write_intent():
        for n, p in enumerate(positions):
            savepoint = db.session.begin_nested()
            try:
                expected = kind(p, rng)
                start = None if n == 0 else log.start_before(min(p, expected))
                report = audit_verify.verify(db.session, start=start)
            finally:
                savepoint.rollback()
            if report["ok"] or report["first_bad"] != expected:
                missed.append((p, expected, report["first_bad"], str(report["reason"])))
        db.session.rollback()
        with unit_of_work(db.session, write=False):
            assert audit_verify.verify(db.session, start=log.checkpoints[-1])["ok"] is True
    assert missed == []
