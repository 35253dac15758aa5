"""GET /api/v1/audit: auditors and admins read the log, filtered by time, actor, action
prefix, request and seal, a page at a time by sequence number; everyone else is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from processes import audit
from processes.db import unit_of_work
from processes.models import AuditEvent, User, utcnow


@pytest.fixture
def log(app, make_user):
    """Seven events by alice and bob on two requests and a seal, one written yesterday."""
    alice, bob = make_user("alice"), make_user("bob")
    with app.app_context(), unit_of_work(db.session):
        a, b = db.session.get(User, alice.id), db.session.get(User, bob.id)
        audit.record(db.session, "task.claimed", actor=a, request_id=1, task="t1")
        audit.record(db.session, "task.completed", actor=a, request_id=1, task="t1",
                     decision="approve")
        audit.record(db.session, "task_other.x", actor=b, request_id=2)
        audit.record(db.session, "request.sealed", request_id=1, seal_id=7, sha256="ab" * 32)
        audit.record(db.session, "seal.changed", actor=b, seal_id=7, change="custodians")
        audit.record(db.session, "request.created", actor=b, request_id=2, title="合同 甲")
    with app.app_context(), unit_of_work(db.session):
        audit.record(db.session, "user.login", actor=db.session.get(User, alice.id))
        db.session.flush()
    with app.app_context(), unit_of_work(db.session):
        first = db.session.execute(select(func.min(AuditEvent.seq))).scalar_one()
        db.session.execute(update(AuditEvent).where(AuditEvent.seq == first)
                           .values(at=utcnow() - timedelta(days=1)))


def actions(resp) -> list[str]:
    assert resp.status_code == 200, resp.get_json()
    return [e["action"] for e in resp.get_json()]


def test_auditors_read_the_log_newest_first_with_every_detail(log, api):
    auditor = api("audrey", roles=["auditor"])
    resp = auditor.get("/api/v1/audit")
    everything = [e for e in resp.get_json() if not e["action"].startswith("user.token")]
    assert [e["action"] for e in everything] == [
        "user.login", "request.created", "seal.changed", "request.sealed", "task_other.x",
        "task.completed", "task.claimed"]
    created = everything[1]
    assert set(created) == {"seq", "at", "actor", "action", "request_id", "seal_id",
                            "details", "hash", "prev_hash"}
    assert created["actor"] == "bob" and created["details"] == {"title": "合同 甲"}
    assert created["request_id"] == 2 and created["seal_id"] is None
    assert len(created["hash"]) == 64 and created["at"].endswith("+00:00")


def test_filters_pick_by_action_prefix_actor_request_seal_and_time(log, api):
    admin = api("root", roles=["admin"])
    mine = [e for e in actions(admin.get("/api/v1/audit")) if not e.startswith("user.")]
    assert len(mine) == 6
    # A prefix: "task." is not "task_other." (no wildcard in it, "_" included).
    assert actions(admin.get("/api/v1/audit?action=task.")) == ["task.completed",
                                                                 "task.claimed"]
    assert actions(admin.get("/api/v1/audit?action=task_")) == ["task_other.x"]
    assert actions(admin.get("/api/v1/audit?actor=bob")) == [
        "request.created", "seal.changed", "task_other.x"]
    assert actions(admin.get("/api/v1/audit?request=1")) == [
        "request.sealed", "task.completed", "task.claimed"]
    assert actions(admin.get("/api/v1/audit?seal=7&actor=bob")) == ["seal.changed"]
    today = utcnow().date()
    yesterday = (today - timedelta(days=1)).isoformat()
    # Dates are days in SEALFLOW_TIMEZONE; the event of yesterday, by its time in UTC.
    old = actions(admin.get(f"/api/v1/audit?to={yesterday}T23:59:59%2B00:00&action=task."))
    assert old == ["task.claimed"]
    assert "task.claimed" not in actions(
        admin.get(f"/api/v1/audit?from={today.isoformat()}T00:00:00Z&action=task."))


def test_pages_follow_the_sequence_numbers(log, api):
    auditor = api("audrey", roles=["auditor"])
    everything = auditor.get("/api/v1/audit?limit=500").get_json()
    seqs = [e["seq"] for e in everything]
    page1 = auditor.get("/api/v1/audit?limit=2").get_json()
    page2 = auditor.get(f"/api/v1/audit?limit=2&before={page1[-1]['seq']}").get_json()
    assert [e["seq"] for e in page1 + page2] == seqs[:4]
    since = auditor.get(f"/api/v1/audit?after={seqs[3]}").get_json()
    assert [e["seq"] for e in since] == sorted(seqs[:3])


@pytest.mark.parametrize("query, field", [
    ("from=yesterday", "from"), ("to=2026-02-30", "to"), ("request=abc", "request"),
    ("seal=-1", "seal"), ("from=2026-12-02&to=2026-12-01", "to")])
def test_a_bad_filter_is_refused_naming_it(log, api, query, field):
    auditor = api("audrey", roles=["auditor"])
    resp = auditor.get(f"/api/v1/audit?{query}")
    assert resp.status_code == 400
    assert [p["field"] for p in resp.get_json()["error"]["problems"]] == [field]


def test_bad_paging_is_refused(log, api):
    auditor = api("audrey", roles=["auditor"])
    for query in ("limit=0", "limit=501", "before=x", "after=-1"):
        assert auditor.get(f"/api/v1/audit?{query}").status_code == 400, query


def test_everyone_else_is_refused(log, api, client):
    for who in (api("carol"), api("maria", roles=["manager"]),
                api("sam", roles=["seal_admin"])):
        resp = who.get("/api/v1/audit")
        assert resp.status_code == 403
        assert "auditors" in resp.get_json()["error"]["message"]
    assert client.get("/api/v1/audit").status_code == 401
