"""Passwords are hashed by the standard library's scrypt, not Werkzeug, and every hash Werkzeug
made before still logs its user in (DESIGN: log-in; issue 9, item 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from app.extensions import db
from processes.models import User
from tests.app.test_logins import attempt

PASSWORD = "old-password-9"


def stored_hash(app, name: str) -> str:
    with app.app_context():
        return db.session.execute(select(User.password_hash).where(User.name == name)).scalar_one()


def give_hash(app, name: str, password_hash: str) -> None:
    """What a user created by an earlier release has: a hash Werkzeug made."""
    with app.app_context():
        db.session.execute(select(User).where(User.name == name)).scalar_one() \
            .password_hash = password_hash
        db.session.commit()


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2"])
def test_a_user_hashed_by_werkzeug_still_logs_in(app, make_user, method):
    make_user("alice")
    old = generate_password_hash(PASSWORD, method=method)
    give_hash(app, "alice", old)
    client = app.test_client()

    assert attempt(client, "alice", "not-" + PASSWORD).status_code == 401
    assert stored_hash(app, "alice") == old
    assert attempt(client, "alice", PASSWORD).status_code == 302
    assert client.get("/inbox").status_code == 200

    renewed = stored_hash(app, "alice")
    if method == "scrypt":  # Werkzeug's default is already the current format: kept
        assert renewed == old
    else:  # replaced at the log-in by a current scrypt hash of the same password
        assert renewed.startswith("scrypt:32768:8:1$") and renewed != old
        assert attempt(app.test_client(), "alice", PASSWORD).status_code == 302
        assert attempt(app.test_client(), "alice", "not-" + PASSWORD).status_code == 401


def test_a_new_password_is_hashed_by_scrypt_and_logs_in(app, make_user):
    make_user("alice", password=PASSWORD)
    stored = stored_hash(app, "alice")
    method, salt, digest = stored.split("$")
    assert method == "scrypt:32768:8:1" and len(salt) >= 22 and len(digest) == 128
    assert attempt(app.test_client(), "alice", PASSWORD).status_code == 302
    assert stored_hash(app, "alice") == stored
    assert attempt(app.test_client(), "alice", PASSWORD.upper()).status_code == 401
