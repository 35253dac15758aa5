"""API tokens are listed (never their secret) and revoked one by one, by their user or an admin,
through the API, the command line and the profile page; their last use is shown."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text, update

import config
from app import create_app
from app.extensions import db
from processes.db import write_intent
from processes.models import ApiToken, AuditEvent, utcnow


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def cli_token(app, name: str, label: str) -> str:
    out = run(app, "user", "token", name, "--label", label)
    assert out.exit_code == 0, out.output
    return out.output.split()[-1]


def token_id(client, token: str, name: str) -> int:
    [found] = [t["id"] for t in client.get("/api/v1/me/tokens", headers=bearer(token)).get_json()
               if t["name"] == name]
    return found


def test_tokens_are_listed_without_their_secret_and_revoked_one_by_one(app, api, client):
    alice = api("alice")
    erp = cli_token(app, "alice", "erp")
    listing = client.get("/api/v1/me/tokens", headers=bearer(alice.token))
    assert listing.status_code == 200
    assert sorted(t["name"] for t in listing.get_json()) == ["", "erp"]
    assert set(listing.get_json()[0]) == {"id", "name", "scopes", "created_at", "last_used_at"}
    for secret in (alice.token, erp):
        assert secret not in listing.text
        assert hashlib.sha256(secret.encode()).hexdigest() not in listing.text

    erp_id = token_id(client, alice.token, "erp")
    assert client.delete(f"/api/v1/me/tokens/{erp_id}",
                         headers=bearer(alice.token)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(erp)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(alice.token)).status_code == 200
    assert [t["name"] for t in alice.get("/api/v1/me/tokens").get_json()] == [""]
    assert client.delete(f"/api/v1/me/tokens/{erp_id}",
                         headers=bearer(alice.token)).status_code == 404
    with app.app_context():
        [event_] = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "user.token_revoked")).scalars()
        assert event_.actor == "alice" and event_.details["token"] == erp_id


def test_someone_elses_token_is_not_found_and_only_admins_manage_others(app, api, client):
    alice, bob, root = api("alice"), api("bob"), api("root", roles=["admin"])
    erp = cli_token(app, "alice", "erp")
    erp_id = token_id(client, alice.token, "erp")
    for path in (f"/api/v1/me/tokens/{erp_id}", "/api/v1/me/tokens/999999",
                 "/api/v1/me/tokens/99999999999999999999"):
        resp = client.delete(path, headers=bearer(bob.token))
        assert resp.status_code == 404, path
        assert resp.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/users/alice/tokens", headers=bearer(bob.token)).status_code == 403
    assert client.delete(f"/api/v1/users/alice/tokens/{erp_id}",
                         headers=bearer(bob.token)).status_code == 403
    assert client.get("/api/v1/me", headers=bearer(erp)).status_code == 200

    # A user may use the users/ path for themselves; an admin for anyone.
    own = client.get("/api/v1/users/alice/tokens", headers=bearer(alice.token)).get_json()
    assert {t["name"] for t in own} == {"", "erp"}
    assert client.get("/api/v1/users/alice/tokens",
                      headers=bearer(root.token)).get_json() == own
    assert client.get("/api/v1/users/nobody/tokens", headers=bearer(root.token)
                      ).status_code == 404
    assert client.delete(f"/api/v1/users/bob/tokens/{erp_id}",
                         headers=bearer(root.token)).status_code == 404
    assert client.delete(f"/api/v1/users/alice/tokens/{erp_id}",
                         headers=bearer(root.token)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(erp)).status_code == 401
    with app.app_context():
        [event_] = db.session.execute(select(AuditEvent).where(
            AuditEvent.action == "user.token_revoked")).scalars()
        assert event_.actor == "root" and event_.details["user"] == "alice"


def test_the_command_line_lists_and_revokes_tokens(app, api, client):
    api("alice")
    erp = cli_token(app, "alice", "erp")
    listing = run(app, "user", "tokens", "alice")
    assert listing.exit_code == 0 and "erp" in listing.output and "never" in listing.output
    assert erp not in listing.output
    erp_id = int(re.search(r"^\s*(\d+)\s+erp\s", listing.output, re.M).group(1))
    out = run(app, "user", "revoke-token", str(erp_id))
    assert out.exit_code == 0, out.output
    assert client.get("/api/v1/me", headers=bearer(erp)).status_code == 401
    assert "erp" not in run(app, "user", "tokens", "alice").output
    again = run(app, "user", "revoke-token", str(erp_id))
    assert again.exit_code == 1 and "no live token" in again.output


def test_the_profile_page_makes_a_token_shows_it_once_and_revokes_it(app, api, login, client):
    bobs = api("bob").token
    assert client.get("/me").headers["Location"].startswith("/login")
    alice = login("alice")
    made = alice.post("/me/tokens", data={"name": "ERP 对接"})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(sf_[^"]+)"', made.text).group(1)
    assert client.get("/api/v1/me", headers=bearer(secret)).get_json()["name"] == "alice"
    page = alice.get("/me")
    assert "ERP 对接" in page.text and secret not in page.text
    assert "token" not in [s for t in alice.get("/api/v1/me/tokens").get_json() for s in t]
    [mine] = alice.get("/api/v1/me/tokens").get_json()

    unconfirmed = alice.post(f"/me/tokens/{mine['id']}/revoke", follow_redirects=True)
    assert "Confirm to revoke" in unconfirmed.text
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    bobs_id = token_id(client, bobs, "")
    assert alice.post(f"/me/tokens/{bobs_id}/revoke", data={"confirm": "yes"}
                      ).status_code == 404
    done = alice.post(f"/me/tokens/{mine['id']}/revoke", data={"confirm": "yes"},
                      follow_redirects=True)
    assert "Token revoked" in done.text
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(bobs)).status_code == 200


@pytest.fixture
def worker(app, tmp_path) -> Iterator[Any]:
    """``worker(lock_wait=...)``: a second worker process's app on the test's database (its
    own memory), waiting at most ``lock_wait`` seconds for a database lock."""
    made = []

    def make(lock_wait: float = 30.0):
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        # PostgreSQL: the test's schema is in the URL's options; add the lock wait beside it.
        url = url.replace("options=", f"options=-clock_timeout%3D{int(lock_wait * 1000)}%20", 1)
        settings = config.TestConfig(tmp_path, url)
        settings.SQLITE_BUSY_TIMEOUT = lock_wait
        made.append(create_app(settings))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def last_used(app, token: str) -> Any:
    with app.app_context():
        found = db.session.execute(select(ApiToken.last_used_at).where(
            ApiToken.token_hash == hashlib.sha256(token.encode()).hexdigest())).scalar_one()
        db.session.rollback()
        return found


def set_last_used(app, token: str, value: Any) -> None:
    with app.app_context():
        db.session.execute(update(ApiToken).where(
            ApiToken.token_hash == hashlib.sha256(token.encode()).hexdigest())
            .values(last_used_at=value))
        db.session.commit()


def test_the_last_use_is_shown_and_recorded_at_most_once_a_minute(app, api, worker):
    alice = api("alice")
    # A use is recorded once its response is closed (buffered: closed as a server does).
    assert alice.get("/api/v1/me/tokens", buffered=True).get_json()[0]["last_used_at"] is None
    first = alice.get("/api/v1/me/tokens", buffered=True).get_json()[0]["last_used_at"]
    assert first is not None
    assert alice.get("/api/v1/me/tokens", buffered=True).get_json()[0]["last_used_at"] == first

    # Another worker process (its own memory) writes no more often: the database's condition.
    other = worker().test_client()
    set_last_used(app, alice.token, utcnow() - timedelta(seconds=30))
    before = last_used(app, alice.token)
    assert other.get("/api/v1/me", headers=bearer(alice.token), buffered=True).status_code == 200
    assert last_used(app, alice.token) == before
    set_last_used(app, alice.token, utcnow() - timedelta(minutes=2))
    other.get("/api/v1/me", headers=bearer(alice.token), buffered=True)
    assert last_used(app, alice.token) > before


@contextmanager
def statements(app) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement.strip())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_reading_request_never_writes_the_last_use_on_its_path(app, api):
    alice = api("alice")
    with statements(app) as seen:
        resp = alice.get("/api/v1/me")  # answered; the server has not closed it yet
        answered = list(seen)
        assert resp.status_code == 200 and resp.get_json()["name"] == "alice"
        resp.close()
    writes = ("UPDATE", "INSERT", "DELETE")
    assert not [s for s in answered if s.upper().startswith(writes)], answered
    assert [s for s in seen[len(answered):] if s.startswith("UPDATE api_tokens")], seen
    assert last_used(app, alice.token) is not None


@contextmanager
def database_write_lock(app) -> Iterator[None]:
    """Another transaction holding the lock a write of ``api_tokens`` needs (SQLite: the
    database's write lock; PostgreSQL: the table's), while reads go on."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as conn:
        with write_intent():
            tx = conn.begin()
        if conn.dialect.name == "postgresql":
            conn.execute(text("LOCK TABLE api_tokens IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            tx.rollback()


def test_a_use_that_cannot_be_recorded_never_fails_the_request(app, api, worker):
    alice = api("alice")
    busy = worker(lock_wait=0.2).test_client()
    with database_write_lock(app):
        resp = busy.get("/api/v1/me", headers=bearer(alice.token), buffered=True)
        assert resp.status_code == 200 and resp.get_json()["name"] == "alice"
    assert last_used(app, alice.token) is None
    busy.get("/api/v1/me", headers=bearer(alice.token), buffered=True)  # recorded next time
    assert last_used(app, alice.token) is not None
