"""Browser sessions end on the server: a copy of a session cookie taken before log-out, a
password change or a deactivation is worth nothing after it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from processes.auth_models import UserSession
from processes.models import AuditEvent, User, utcnow
from tests.conftest import PASSWORD

NEW_PASSWORD = "battery-staple-2"


def copy_of(client, app):
    """A second browser holding a copy of ``client``'s session cookie (what a thief keeps)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def refused(client) -> bool:
    """The session no longer works: pages send it to /login, the API answers 401."""
    page = client.get("/inbox")
    api = client.get("/api/v1/me")
    return (page.status_code == 302 and page.headers["Location"].startswith("/login")
            and api.status_code == 401)


def works(client) -> bool:
    return client.get("/inbox").status_code == 200 and client.get("/api/v1/me").status_code == 200


def actions(app, action: str) -> list[dict]:
    with app.app_context():
        return [e.details for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action)
            .order_by(AuditEvent.seq)).scalars()]


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_a_cookie_copied_before_log_out_is_refused_after_it(app, login):
    alice = login("alice")
    thief = copy_of(alice, app)
    assert works(thief)  # the copy works while the session lives
    assert alice.post("/logout").status_code == 302
    assert refused(alice)
    assert refused(thief)
    assert len(actions(app, "user.logout")) == 1
    # Logging out again with the dead copy changes nothing and records nothing.
    assert thief.post("/logout").status_code == 302
    assert len(actions(app, "user.logout")) == 1


def test_a_new_log_in_in_the_same_browser_ends_the_previous_session(app, login, make_user):
    alice = login("alice")
    thief = copy_of(alice, app)
    make_user("bob", password=PASSWORD)
    assert alice.post("/login", data={"name": "bob", "password": PASSWORD}).status_code == 302
    assert alice.get("/api/v1/me").get_json()["name"] == "bob"
    assert refused(thief)


def test_changing_the_password_on_the_profile_page_ends_every_session_and_token(
        app, api, login):
    token = api("alice").token
    laptop, phone = login("alice"), login("alice")
    stolen = copy_of(laptop, app)
    bearer = {"Authorization": f"Bearer {token}"}
    assert laptop.get("/api/v1/me", headers=bearer).status_code == 200

    # A wrong current password changes nothing (and counts as a failed log-in).
    wrong = laptop.post("/me/password", data={"current_password": "not-the-password",
                                              "new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD},
                        follow_redirects=True)
    assert "The current password is wrong" in wrong.text
    assert works(phone) and works(stolen)
    assert actions(app, "user.login_failed")[-1]["during"] == "password_change"

    done = laptop.post("/me/password", data={"current_password": PASSWORD,
                                             "new_password": NEW_PASSWORD,
                                             "confirm_password": NEW_PASSWORD},
                       follow_redirects=True)
    assert done.status_code == 200 and "Password changed" in done.text
    assert works(laptop)  # the browser that changed it has a new session
    assert refused(phone) and refused(stolen)
    assert laptop.get("/api/v1/me", headers=bearer).status_code == 401
    fresh = app.test_client()
    assert fresh.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 401
    assert fresh.post("/login", data={"name": "alice",
                                      "password": NEW_PASSWORD}).status_code == 302
    [event] = actions(app, "user.password_changed")
    assert event["user"] == "alice" and event["sessions_ended"] == 2
    assert len(event["tokens_revoked"]) == 1


def test_the_profile_page_refuses_a_bad_new_password_without_ending_anything(app, login):
    alice = login("alice")
    for new, confirm, message in (("short", "short", "at least 8 characters"),
                                  (NEW_PASSWORD, NEW_PASSWORD + "x", "differ"),
                                  (PASSWORD, PASSWORD, "must differ from the current")):
        page = alice.post("/me/password", data={"current_password": PASSWORD,
                                                "new_password": new, "confirm_password": confirm},
                          follow_redirects=True)
        assert message in page.text
    assert works(alice)
    assert actions(app, "user.password_changed") == []


def test_a_password_set_with_the_cli_ends_sessions_and_revokes_tokens(app, api, login):
    token = api("alice").token
    alice = login("alice")
    bearer = {"Authorization": f"Bearer {token}"}
    # The same password again is no change: nothing ends.
    assert run(app, "user", "add", "alice", "--password", PASSWORD).exit_code == 0
    assert works(alice)
    out = run(app, "user", "add", "alice", "--password", NEW_PASSWORD)
    assert out.exit_code == 0, out.output
    assert refused(alice)
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401
    [event] = actions(app, "user.password_changed")
    assert event["user"] == "alice" and event["sessions_ended"] == 1


def test_deactivating_a_user_ends_their_sessions(app, login):
    alice = login("alice")
    thief = copy_of(alice, app)
    assert run(app, "user", "deactivate", "alice").exit_code == 0
    assert refused(alice) and refused(thief)
    with app.app_context():
        user_id = db.session.execute(select(User.id).where(User.name == "alice")).scalar_one()
        left = db.session.execute(select(UserSession).where(
            UserSession.user_id == user_id)).scalars().all()
    assert left == []
    assert actions(app, "user.deactivated")[0]["sessions_ended"] == 1


def test_a_session_ends_at_its_time_whatever_the_browser_keeps(app, login):
    alice = login("alice")
    assert works(alice)
    with app.app_context():
        db.session.execute(update(UserSession).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert refused(alice)
