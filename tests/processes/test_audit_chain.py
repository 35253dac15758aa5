"""The audit log's keyed layer, its head file and key rotation (issue 13, item 1): what a
verification finds, event by event, against the settings an operator would have."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from app.extensions import db
from processes import audit, audit_head, audit_keys, audit_verify
from processes.db import unit_of_work
from processes.models import AuditEvent

KEY = "test-audit-key-0123456789"  # TestConfig's


def _append(n: int, action: str = "test.event") -> None:
    for i in range(n):
        with unit_of_work(db.session):
            audit.record(db.session, action, n=i, 印章="合同专用章")


def _ring(app, key: str = KEY, old: str | None = None):
    return audit_keys.keyring(key, old, app.config["AUDIT_HEAD_FILE"])


def _use(app, ring) -> None:
    audit_keys.use(db.engine, ring)
    audit_head.forget()


def _verify() -> dict:
    with unit_of_work(db.session, write=False):
        return audit_verify.verify(db.session)


def test_each_event_is_keyed_and_the_head_file_follows_the_commits(app):
    with app.app_context():
        _append(5)
        rows = db.session.execute(select(AuditEvent.seq, AuditEvent.mac, AuditEvent.key_id)
                                  .order_by(AuditEvent.seq)).all()
        db.session.rollback()
        verdict = _verify()
    assert verdict["ok"] is True and verdict["events"] == 5, verdict
    assert {r.key_id for r in rows} == {audit_keys.fingerprint(KEY.encode())}
    assert all(len(r.mac) == 64 for r in rows)
    head, problem = audit_head.read(_ring(app))
    assert problem is None and head["seq"] == rows[-1].seq and head["mac"] == rows[-1].mac
    text = app.config["AUDIT_HEAD_FILE"].read_text()
    assert KEY not in text and [json.loads(line)["seq"] for line in text.splitlines()] == [5, 4]


def test_an_older_head_never_overwrites_a_newer_one(app):
    with app.app_context():
        _append(3)
        ring = _ring(app)
        newest = ring.head_file.read_bytes()
        audit_head.forget()  # as another process, which wrote less, would be
        audit_head.write(ring, 2, "0" * 64, None)
        assert ring.head_file.read_bytes() == newest
        audit_head.write(ring, 4, "4" * 64, None)  # a newer one goes over the older slot
        assert audit_head.read(ring)[0]["hash"] == "4" * 64
        assert [json.loads(line)["seq"] for line in ring.head_file.read_text().splitlines()] \
            == [3, 4]


def test_the_keyed_chain_continues_the_unkeyed_one_and_a_later_unkeyed_event_is_found(app):
    """As after migration 0025: the events written before the key stay as they were."""
    with app.app_context():
        _use(app, None)
        _append(3, "before.keys")
        _use(app, _ring(app))
        _append(3, "after.keys")
        assert _verify()["ok"] is True
        _use(app, None)  # a writer without the key
        _append(1, "unkeyed")
        _use(app, _ring(app))
        last = db.session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc())
                                  .limit(1)).scalar()
        db.session.rollback()
        verdict = _verify()
    assert verdict["ok"] is False and verdict["first_bad"] == last, verdict
    assert "no MAC" in verdict["reason"]


def test_a_rotated_key_verifies_with_the_old_one_kept_and_not_without(app):
    new = "a-new-audit-key-9876543210"
    with app.app_context():
        _append(2)
        with unit_of_work(db.session):
            audit_verify.rotate_key(db.session, new.encode())
        _append(1)  # a process not restarted yet: still the old key, allowed
        _use(app, _ring(app, new, old=KEY))
        _append(2)
        assert _verify()["ok"] is True
        _use(app, _ring(app, new))  # the old key lost
        verdict = _verify()
        assert verdict["ok"] is False and verdict["first_bad"] == 1
        assert "key not held" in verdict["reason"]
        _use(app, _ring(app, new, old=KEY))
        _use(app, _ring(app, KEY, old=new))  # back to the old key: no rotation named it
        _append(1)
        verdict = _verify()
    assert verdict["ok"] is False and "without a rotation" in verdict["reason"], verdict


def test_events_cut_from_the_end_are_found_against_the_head_file(app):
    with app.app_context():
        _append(6)
        with unit_of_work(db.session):
            db.session.execute(AuditEvent.__table__.delete().where(AuditEvent.seq > 4))
        verdict = _verify()
    assert verdict["ok"] is False and verdict["first_bad"] == 5, verdict


def test_a_chain_recomputed_without_the_key_is_found_at_the_changed_event(app):
    with app.app_context():
        _append(6)
        rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        prev = rows[2].prev_hash
        rows[2].details = {"n": 99}
        for row in rows[2:]:
            row.prev_hash = prev
            row.hash = prev = audit.digest(prev, row.at, row.actor, row.action,
                                           row.request_id, row.seal_id, row.details)
        db.session.commit()
        verdict = _verify()
    assert verdict["ok"] is False and verdict["first_bad"] == rows[2].seq, verdict
    assert "without the key" in verdict["reason"]


@pytest.mark.parametrize(("kind", "found_at"), [("delete", 5), ("insert", 5), ("swap", 4)])
def test_a_deleted_inserted_or_moved_event_is_found_where_the_chain_breaks(app, kind, found_at):
    """The quick suite's case of each (the long sweep: test_audit_tampering.py)."""
    table = AuditEvent.__table__
    with app.app_context():
        _append(8)
        with unit_of_work(db.session):
            rows = {r["seq"]: dict(r) for r in db.session.execute(select(table)).mappings()}
            if kind == "delete":
                db.session.execute(table.delete().where(table.c.seq == 4))
            elif kind == "insert":  # room after event 4, then a copy of event 2 there
                db.session.execute(update(table).where(table.c.seq > 4)
                                   .values(seq=-table.c.seq - 1))
                db.session.execute(update(table).where(table.c.seq < 0)
                                   .values(seq=-table.c.seq))
                db.session.execute(table.insert().values({**rows[2], "seq": 5}))
            else:
                for seq, other in ((4, 6), (6, 4)):
                    db.session.execute(update(table).where(table.c.seq == seq).values(
                        {k: v for k, v in rows[other].items() if k != "seq"}))
        verdict = _verify()
    assert verdict["ok"] is False and verdict["first_bad"] == found_at, verdict


@pytest.mark.parametrize("text", ['{"seq": 1}', "not json", ""])
def test_a_head_file_that_does_not_hold_is_a_finding(app, text):
    with app.app_context():
        _append(2)
        app.config["AUDIT_HEAD_FILE"].write_text(text)
        verdict = _verify()
    assert verdict["ok"] is False and "head file" in verdict["reason"], verdict


def test_a_checkpoint_resumes_the_walk_and_a_forged_one_is_refused(app):
    with app.app_context():
        _append(7)
        seen: list[audit_verify.Position] = []
        with unit_of_work(db.session, write=False):
            audit_verify.verify(db.session, progress=seen.append, every=3)
        ring = _ring(app)
        saved = seen[0].dump(ring)
        resumed = audit_verify.Position.load(ring, saved)
        assert resumed == seen[0]
        with unit_of_work(db.session, write=False):
            verdict = audit_verify.verify(db.session, start=resumed)
        assert verdict["ok"] is True and verdict["events"] == 7 - 3 + 3
        assert audit_verify.Position.load(ring, {**saved, "seq": 1}) is None
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == 5)
                           .values(action="changed"))
        db.session.commit()
        verdict = _verify()
    assert verdict["first_bad"] == 5


def test_a_requests_events_are_proved_to_an_anchor_showing_no_other_event(app):
    from processes import audit_proof

    with app.app_context():
        for i in range(9):
            with unit_of_work(db.session):
                audit.record(db.session, "test.event", request_id=7 if i in (2, 5) else 8,
                             secret=f"其他申请 {i}")
        anchor = db.session.execute(select(AuditEvent.seq, AuditEvent.hash)
                                    .order_by(AuditEvent.seq.desc()).limit(1)).one()
        run = audit_proof.build(db.session, 7, anchor.seq)
        db.session.rollback()
    assert [item["seq"] for item in run] == list(range(3, 10))
    assert "其他申请 8" not in json.dumps(run, ensure_ascii=False)
    assert [i["details"]["secret"] for i in run if "details" in i] == ["其他申请 2", "其他申请 5"]
    run = json.loads(json.dumps(run))  # as it travels in a file
    assert audit_proof.check(run, anchor.hash) == (None, None)
    changed = [dict(i) for i in run]
    changed[3]["details"] = {"secret": "改过"}  # the request's second event
    assert audit_proof.check(changed, anchor.hash)[0] == 6
    changed = [dict(i) for i in run]
    changed[2]["content"] = "0" * 64  # another request's event swapped for something else
    assert audit_proof.check(changed, anchor.hash)[0] == 6  # the next event shown says so
    changed = [dict(i) for i in run]
    changed[5]["content"] = "0" * 64  # one after the request's last: the anchor says so
    assert audit_proof.check(changed, anchor.hash) == (None, "the run does not end at the "
                                                             "anchored head")
    assert audit_proof.check(run[:-1], anchor.hash)[1] == "the run does not end at the " \
                                                          "anchored head"
    assert audit_proof.check(run[1:], anchor.hash)[0] is None  # must start with its own event


def test_details_of_any_text_are_kept_as_given_and_verify(app):
    """Quotes, percent signs, backslashes and braces in an event travel as they are (on
    PostgreSQL the events go as one escaped JSON literal), in a transaction that read first
    and in one that did not."""
    odd = {"note": "50% of 'it' \\ {rows} \"quoted\" 合同专用章", "list": [1.5, None, True]}
    with app.app_context():
        with unit_of_work(db.session):
            db.session.execute(select(AuditEvent.seq).limit(1)).all()  # begun by a read
            audit.record(db.session, "test.odd", **odd)
        with unit_of_work(db.session):
            audit.record(db.session, "test.odd", **odd)
        details = db.session.execute(select(AuditEvent.details).where(
            AuditEvent.action == "test.odd")).scalars().all()
        db.session.rollback()
        verdict = _verify()
    assert details == [odd, odd]
    assert verdict["ok"] is True, verdict
