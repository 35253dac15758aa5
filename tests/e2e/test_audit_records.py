"""What the audit log records beside the flows' own events: every download of a request's
files (pages and API), a check on /verify by a signed-in person, a user created or changed on
the command line, and a business system's token use, once a day."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.extensions import db
from processes import isotime
from processes.db import unit_of_work
from processes.models import ApiToken, AuditEvent, utcnow
from processes.people import tokens
from tests.conftest import PASSWORD, seal_one, sealed_bytes


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context(), unit_of_work(db.session, write=False):
        found = list(db.session.execute(select(AuditEvent).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)).scalars())
        db.session.expunge_all()
        return found


def test_every_download_of_a_requests_files_is_recorded(app, org, pdf, login):
    req = seal_one(org, pdf)
    sealed = sealed_bytes(org, req["id"])  # alice, through the API with her token
    original = org.bob.get(f"/api/v1/requests/{req['id']}/document")
    assert original.status_code == 200 and original.data == pdf
    original.close()
    page = login("carol")
    for kind in ("document", "sealed"):
        # A HEAD (a link checker, a download manager sizing the file) downloads nothing.
        resp = page.head(f"/requests/{req['id']}/{kind}")
        assert resp.status_code == 200 and int(resp.headers["Content-Length"]) > 0
        resp.close()
        resp = page.get(f"/requests/{req['id']}/{kind}")
        assert resp.status_code == 200
        resp.close()
    head = org.bob.head(f"/api/v1/requests/{req['id']}/sealed")
    assert head.status_code == 200
    head.close()

    found = [(e.actor, e.request_id, e.seal_id, e.details["kind"], e.details["sha256"],
              e.details["token"] is not None) for e in events(app, "document.downloaded")]
    original_sha = hashlib.sha256(pdf).hexdigest()
    sealed_sha = hashlib.sha256(sealed).hexdigest()
    rid, seal = req["id"], org.seal_id
    assert found == [("alice", rid, seal, "sealed", sealed_sha, True),
                     ("bob", rid, seal, "original", original_sha, True),
                     ("carol", rid, seal, "original", original_sha, False),
                     ("carol", rid, seal, "sealed", sealed_sha, False)]
    [first] = events(app, "document.downloaded")[:1]
    assert first.details["filename"].endswith("-sealed.pdf")


def test_a_refused_download_records_nothing(app, org, pdf, api):
    req = seal_one(org, pdf)
    stranger = api("mallory")
    assert stranger.get(f"/api/v1/requests/{req['id']}/sealed").status_code == 404
    assert org.alice.get("/api/v1/requests/999999/document").status_code == 404
    assert events(app, "document.downloaded") == []


def test_a_check_on_the_verify_page_is_recorded_when_signed_in(app, org, pdf, login, client):
    req = seal_one(org, pdf)
    data = sealed_bytes(org, req["id"])
    anonymous = client.post("/verify", data={"file": (io.BytesIO(data), "contract.pdf")},
                            content_type="multipart/form-data")
    assert anonymous.status_code == 200
    assert events(app, "document.verified") == []

    page = login("lily")
    shown = page.post("/verify", data={"file": (io.BytesIO(data), "contract.pdf")},
                      content_type="multipart/form-data")
    assert shown.status_code == 200
    [event] = events(app, "document.verified")
    assert (event.actor, event.request_id, event.seal_id) == ("lily", req["id"], org.seal_id)
    assert event.details == {"sha256": hashlib.sha256(data).hexdigest(),
                             "filename": "contract.pdf", "signatures": 1, "good": 1}


def test_users_made_and_changed_on_the_command_line_are_recorded(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["group", "add", "legal"]).exit_code == 0
    made = runner.invoke(args=["user", "add", "zoe", "--password", PASSWORD,
                               "--roles", "auditor"])
    assert made.exit_code == 0, made.output
    changed = runner.invoke(args=["user", "add", "zoe", "--roles", "manager",
                                  "--groups", "legal"])
    assert changed.exit_code == 0, changed.output
    again = runner.invoke(args=["user", "add", "zoe", "--roles", "manager"])
    assert again.exit_code == 0, again.output

    [created] = events(app, "user.created")
    assert created.details == {"user": "zoe", "roles": ["auditor"], "groups": [],
                               "email": None}
    [change] = events(app, "user.changed")  # the third changed nothing
    assert change.details == {"user": "zoe", "roles": ["auditor", "manager"],
                              "groups": ["legal"]}


def _set_last_used(app, token_id: int, value) -> None:
    with app.app_context(), unit_of_work(db.session):
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id)
                           .values(last_used_at=value))


def test_a_tokens_use_is_recorded_once_a_day(app, api):
    erp = api("erp")
    for _ in range(3):  # buffered: the response is closed, as a server closes it
        assert erp.get("/api/v1/me", buffered=True).status_code == 200
    [used] = events(app, "user.token_used")
    token_id = used.details["token"]
    assert used.actor == "erp" and used.details["user"] == "erp"

    # Later the same day (more than a minute on): its last use is written, no event.
    now = utcnow()
    _set_last_used(app, token_id, max(now - timedelta(minutes=5), isotime.day_start(now)))
    erp.get("/api/v1/me", buffered=True)
    assert len(events(app, "user.token_used")) == 1

    # Its last use yesterday: today's first use is recorded, once.
    _set_last_used(app, token_id, utcnow() - timedelta(days=1))
    for _ in range(2):
        erp.get("/api/v1/me", buffered=True)
    assert [e.details["token"] for e in events(app, "user.token_used")] == [token_id] * 2


def test_a_tokens_day_is_the_organisations_not_utcs():
    """In Shanghai (the default zone) a day begins at 16:00 UTC the evening before: a use at
    01:00 local time is today's, one at 23:00 local time yesterday's."""
    now = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert isotime.timezone_name() == "Asia/Shanghai"
    assert not tokens.first_today(datetime(2026, 12, 5, 17, 0, tzinfo=UTC), now)
    assert tokens.first_today(datetime(2026, 12, 5, 15, 0, tzinfo=UTC), now)
    assert isotime.day_start(now) == datetime(2026, 12, 5, 16, 0, tzinfo=UTC)
