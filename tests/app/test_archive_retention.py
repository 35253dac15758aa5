"""Keeping the archive: retention per business type (or the default), legal hold set and
lifted by auditors and admins with a reason (audited), no deletion under hold or within the
retention whatever path a DELETE takes, and the admins told once when a retention ends;
nothing is deleted on its own."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app import archive_jobs
from app.extensions import db
from processes.archive_models import ArchiveEntry
from processes.db import unit_of_work
from processes.flows import definitions
from processes.models import AuditEvent
from processes.notice_models import Notice
from tests.app.test_archive import CONTRACT, chinese_pdf
from tests.conftest import approve, seal_one, submit


@pytest.fixture
def auditor(api):
    return api("audrey", roles=["auditor"])


def _entry(app, request_id: int) -> ArchiveEntry:
    with app.app_context():
        entry = db.session.execute(sa.select(ArchiveEntry).where(
            ArchiveEntry.request_id == request_id)).scalar_one()
        db.session.expunge(entry)
        return entry


def _delete(app, request_id: int) -> None:
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(sa.delete(ArchiveEntry).where(ArchiveEntry.request_id == request_id))


def _set(app, request_id: int, **values) -> None:
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(sa.update(ArchiveEntry).where(
            ArchiveEntry.request_id == request_id).values(**values))


def test_retention_is_the_business_types_or_the_default(org, api, app):
    req = seal_one(org, chinese_pdf(CONTRACT))
    entry = _entry(app, req["id"])
    sealed_on = entry.sealed_at.date()
    assert entry.retention_until == sealed_on.replace(year=sealed_on.year + 30)  # the default
    with app.app_context(), unit_of_work(db.session):
        definitions.add_business_type(db.session, "contract", "contract_seal", "合同用印")
    manager = api("mona", roles=["manager"])
    assert org.alice.put("/api/v1/business-types/contract/retention",
                         json={"years": 7}).status_code == 403
    assert manager.put("/api/v1/business-types/contract/retention",
                       json={"years": 0}).status_code == 422
    assert manager.put("/api/v1/business-types/nothing/retention",
                       json={"years": 7}).status_code == 404
    resp = manager.put("/api/v1/business-types/contract/retention", json={"years": 7})
    assert resp.status_code == 200 and resp.get_json()["retention_years"] == 7
    second = submit(org.alice, org.seal_id, chinese_pdf(["租赁合同"]), process="",
                    business_type="contract").get_json()
    approve(org.bob)
    approve(org.carol)
    later = _entry(app, second["id"])
    assert later.retention_until == later.sealed_at.date().replace(
        year=later.sealed_at.year + 7)
    assert _entry(app, req["id"]).retention_until == entry.retention_until  # kept as filed


def test_legal_hold_is_set_and_lifted_by_auditors_with_a_reason(org, auditor, app):
    req = seal_one(org, chinese_pdf(CONTRACT))
    path = f"/api/v1/archive/{req['id']}/hold"
    assert org.alice.post(path, json={"reason": "mine"}).status_code == 403
    assert auditor.post(path, json={}).status_code == 422
    assert auditor.post("/api/v1/archive/999/hold", json={"reason": "x"}).status_code == 404
    resp = auditor.post(path, json={"reason": "诉讼保全 (2026)沪01民初123号"})
    assert resp.status_code == 200 and resp.get_json()["legal_hold"] is True
    [hit] = auditor.get("/api/v1/archive", query_string={"hold": "1"}).get_json()
    assert hit["request_id"] == req["id"] and hit["legal_hold"] is True
    release = f"/api/v1/archive/{req['id']}/release"
    assert auditor.post(release, json={"reason": "结案"}).get_json()["legal_hold"] is False
    assert auditor.post(release, json={"reason": "again"}).status_code == 409
    with app.app_context():
        events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.details).where(
            AuditEvent.request_id == req["id"], AuditEvent.action.like("archive.%"))
            .order_by(AuditEvent.seq)).all()
    assert [(a, d["reason"]) for a, d in events] == [
        ("archive.hold_set", "诉讼保全 (2026)沪01民初123号"), ("archive.hold_cleared", "结案")]


def test_nothing_under_hold_or_retention_can_be_deleted(org, auditor, app):
    """There is no delete in Sealflow; a DELETE by any other path meets the trigger."""
    req = seal_one(org, chinese_pdf(CONTRACT))
    with pytest.raises(sa.exc.DatabaseError, match="not deleted"):
        _delete(app, req["id"])  # within its retention
    _set(app, req["id"], retention_until=date.today() - timedelta(days=1), legal_hold=True)
    with pytest.raises(sa.exc.DatabaseError, match="not deleted"):
        _delete(app, req["id"])  # retention over, but held
    assert [h["request_id"] for h in auditor.get("/api/v1/archive").get_json()] == [req["id"]]
    _set(app, req["id"], legal_hold=False)
    _delete(app, req["id"])  # neither: the database lets it go
    assert auditor.get("/api/v1/archive").get_json() == []


def test_admins_are_told_once_when_a_retention_ends(org, api, app):
    admin = api("root", roles=["admin"])
    held = seal_one(org, chinese_pdf(CONTRACT))
    ended = seal_one(org, chinese_pdf(["到期合同"]))
    yesterday = date.today() - timedelta(days=1)
    for req in (held, ended):
        _set(app, req["id"], retention_until=yesterday)
    _set(app, held["id"], legal_hold=True)
    assert archive_jobs.notify_retention_ended(app) == 1
    assert archive_jobs.notify_retention_ended(app) == 0  # told once
    with app.app_context():
        notices = db.session.execute(sa.select(Notice.kind, Notice.link)).all()
    assert notices.count(("archive.retention_ended", "/archive?retention=ended")) == 1
    listed = admin.get("/api/v1/archive", query_string={"retention": "ended"}).get_json()
    assert [h["request_id"] for h in listed] == [ended["id"]]  # the held one must stay
    assert _entry(app, ended["id"]).request_id == ended["id"]  # still there
