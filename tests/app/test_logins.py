"""Failed log-ins are throttled per name and per address, in the database (every worker process
agrees), with a lock-out that says no more than a wrong password and that an admin lifts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

import config
from app.extensions import db
from processes.models import AuditEvent
from tests.app.test_tokens import worker  # noqa: F401 - a second worker process's app
from tests.conftest import PASSWORD


def attempt(client, name: str, password: str, address: str = "192.0.2.1"):
    return client.post("/login", data={"name": name, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def message(resp) -> str:
    return re.search(r'<p class="flash error"[^>]*>([^<]*)</p>', resp.text).group(1)


def audited(app, action: str) -> list[dict]:
    with app.app_context():
        return [e.details for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action)
            .order_by(AuditEvent.seq)).scalars()]


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_a_name_is_locked_after_five_failures_even_for_the_right_password(app, make_user):
    make_user("alice", password=PASSWORD)
    client = app.test_client()
    answers = [attempt(client, "alice", f"guess-{n}") for n in range(5)]
    assert [r.status_code for r in answers] == [401, 401, 401, 401, 429]
    locked = attempt(client, "alice", PASSWORD)
    assert locked.status_code == 429 and 'name="password"' in locked.text
    assert "登录失败次数过多" in message(locked)  # a client asking no language: Chinese
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert client.get("/inbox").status_code == 302
    assert [e["failures"] for e in audited(app, "user.login_failed")] == [1, 2, 3, 4, 5]
    [lock] = audited(app, "user.locked")
    assert lock["name"] == "alice" and lock["address"] == "192.0.2.1"

    out = run(app, "user", "unlock", "alice")
    assert out.exit_code == 0 and "unlocked" in out.output
    assert attempt(client, "alice", PASSWORD).status_code == 302
    assert audited(app, "user.unlocked")[0]["was_locked"] is True
    assert audited(app, "user.login")[0]["address"] == "192.0.2.1"


def test_the_lock_out_tells_no_more_than_a_wrong_password(app, make_user):
    make_user("alice", password=PASSWORD)
    client = app.test_client()

    def answers(name: str, address: str) -> list[tuple[int, str]]:
        return [(r.status_code, message(r))
                for r in (attempt(client, name, f"guess-{n}", address) for n in range(7))]

    for_alice = answers("alice", "192.0.2.1")
    assert for_alice[-1][0] == 429  # locked
    assert answers("nobody", "192.0.2.2") == for_alice
    # The audit log names real users only: a name that is no user's may be a mistyped password.
    names = {e["address"]: e["name"] for e in audited(app, "user.login_failed")}
    assert names == {"192.0.2.1": "alice", "192.0.2.2": None}


def test_a_success_forgets_the_names_failures(app, make_user):
    make_user("alice", password=PASSWORD)
    client = app.test_client()
    for n in range(4):
        assert attempt(client, "alice", f"guess-{n}").status_code == 401
    assert attempt(client, "alice", PASSWORD).status_code == 302
    for n in range(4):
        assert attempt(app.test_client(), "alice", f"again-{n}").status_code == 401
    assert attempt(app.test_client(), "alice", "again-4").status_code == 429


def test_an_address_is_blocked_after_failures_on_many_names(app, make_user):
    app.config["LOGIN_ADDRESS_FAILURES"] = 4
    make_user("alice", password=PASSWORD)
    client = app.test_client()
    for n in range(3):
        assert attempt(client, f"user{n}", "guess", "198.51.100.7").status_code == 401
    assert attempt(client, "user3", "guess", "198.51.100.7").status_code == 429
    assert attempt(client, "alice", PASSWORD, "198.51.100.7").status_code == 429
    assert attempt(app.test_client(), "alice", PASSWORD, "198.51.100.8").status_code == 302
    assert audited(app, "login.address_blocked")[0]["address"] == "198.51.100.7"
    out = run(app, "user", "unlock", "--address", "198.51.100.7")
    assert out.exit_code == 0 and "unblocked" in out.output
    assert attempt(client, "alice", PASSWORD, "198.51.100.7").status_code == 302
    assert run(app, "user", "unlock").exit_code == 1


def test_no_limit_per_address_when_it_is_off(app, make_user):
    """Behind a proxy not trusted for X-Forwarded-For every client shares one address."""
    app.config["LOGIN_ADDRESS_FAILURES"] = 0
    make_user("alice", password=PASSWORD)
    client = app.test_client()
    for n in range(3):
        assert attempt(client, f"user{n}", "guess").status_code == 401
    assert attempt(client, "alice", PASSWORD).status_code == 302
    assert audited(app, "login.address_blocked") == []


def test_an_admin_lifts_a_lock_out_through_the_api(app, api, make_user):
    bob, root = api("bob"), api("root", roles=["admin"])
    make_user("alice", password=PASSWORD)
    client = app.test_client()
    for n in range(5):
        attempt(client, "alice", f"guess-{n}")
    assert attempt(client, "alice", PASSWORD).status_code == 429
    assert bob.post("/api/v1/users/alice/unlock").status_code == 403
    assert root.post("/api/v1/users/nobody/unlock").status_code == 404
    resp = root.post("/api/v1/users/alice/unlock")
    assert resp.status_code == 200 and resp.get_json() == {"name": "alice", "was_locked": True}
    assert attempt(client, "alice", PASSWORD).status_code == 302
    [event] = audited(app, "user.unlocked")
    assert event["user"] == "alice" and event["was_locked"] is True


def test_every_worker_process_sees_the_lock_out(app, make_user, worker):  # noqa: F811
    make_user("alice", password=PASSWORD)
    first, second = app.test_client(), worker().test_client()
    for n in range(3):
        attempt(first, "alice", f"guess-{n}")
    for n in range(2):
        attempt(second, "alice", f"guess-{n + 3}")
    assert attempt(first, "alice", PASSWORD).status_code == 429
    assert attempt(second, "alice", PASSWORD).status_code == 429


@pytest.mark.parametrize("name,value", [("LOGIN_FAILURES", "0"), ("LOGIN_FAILURES", "five"),
                                        ("LOGIN_LOCKOUT_MINUTES", "-1"),
                                        ("SESSION_HOURS", "100000")])
def test_bad_throttle_settings_are_refused(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv(f"SEALFLOW_{name}", value)
    with pytest.raises(config.ConfigurationError, match=f"SEALFLOW_{name}"):
        config.TestConfig(tmp_path).validate()
