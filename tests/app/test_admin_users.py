"""/admin/users as an administrator uses it: the list with its search and pages, adding a user
(who then logs in), their roles and groups, deactivating and reactivating, their tokens and
lock-outs; each change audited, bad input refused with what was typed kept, and nobody but
an administrator let in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from processes.db import unit_of_work
from processes.models import AuditEvent
from processes.people import directory
from tests.conftest import PASSWORD

NEW = {"name": "wang.fang", "display_name": "王芳", "email": "wang.fang@example.com",
       "password": "initial-pass-1", "roles": ["auditor"], "groups": ["legal"]}


def events(app, action: str) -> list[dict]:
    with app.app_context(), unit_of_work(db.session, write=False):
        return [{"actor": e.actor, **e.details}
                for e in db.session.execute(select(AuditEvent).where(
                    AuditEvent.action == action).order_by(AuditEvent.seq)).scalars()]


@pytest.fixture
def root(org, login, make_user):
    make_user("root", roles=["admin"])
    return login("root")


def _form(page: str, name: str) -> str:
    """The value an input of the page holds."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
    assert found, name
    return found.group(1)


def _checked(page: str, name: str) -> set[str]:
    return set(re.findall(rf'name="{name}" value="([^"]+)" checked', page))


def test_only_administrators_get_in_and_only_they_see_the_admin_link(org, login, root):
    alice = login("alice")
    for url in ("/admin/users", "/admin/users/bob", "/admin/groups", "/admin/incidents"):
        assert alice.get(url).status_code == 403, url
        assert root.get(url).status_code == 200, url
    assert alice.post("/admin/users", data=NEW).status_code == 403
    assert alice.post("/admin/users/bob/deactivate", data={"confirm": "yes"}).status_code == 403
    assert alice.post("/admin/users/bob/unlock").status_code == 403
    assert 'href="/admin/users"' not in alice.get("/inbox").text
    assert 'href="/admin/users"' in root.get("/inbox").text


def test_an_added_user_logs_in_with_the_roles_and_groups_given(app, root):
    added = root.post("/admin/users", data=NEW)
    assert added.status_code == 302 and added.headers["Location"] == "/admin/users/wang.fang"
    page = root.get("/admin/users/wang.fang").text
    assert "User wang.fang added" in page and "王芳" in page
    assert _checked(page, "roles") == {"auditor"} and _checked(page, "groups") == {"legal"}
    newcomer = app.test_client()
    logged_in = newcomer.post("/login", data={"name": "wang.fang",
                                              "password": "initial-pass-1"})
    assert logged_in.status_code == 302
    assert newcomer.get("/api/v1/me").get_json()["roles"] == ["auditor"]
    assert events(app, "user.created") == [
        {"actor": "root", "user": "wang.fang", "roles": ["auditor"], "groups": ["legal"],
         "email": "wang.fang@example.com"}]


@pytest.mark.parametrize("change, field, message", [
    ({"password": "short"}, "password", "at least 8 characters"),
    ({"name": "bob"}, "name", "already a user named bob"),
    ({"name": "wang fang"}, "name", "no spaces or commas"),
    ({"email": "not-an-address"}, "email", "invalid e-mail address"),
    ({"groups": ["legal", "nowhere"]}, "groups", "no group nowhere"),
])
def test_a_refused_user_keeps_what_was_typed(app, root, change, field, message):
    page = root.post("/admin/users", data={**NEW, **change})
    assert page.status_code == 400
    text = page.text
    assert message in text and f'id="err-{field}"' in text or message in text
    assert _form(text, "display_name") == "王芳"
    assert _form(text, "email") == change.get("email", NEW["email"])
    assert _checked(text, "roles") == {"auditor"}
    assert 'name="password" type="password"' in text and "initial-pass-1" not in text
    assert events(app, "user.created") == []


def test_refusals_answer_in_chinese_on_a_chinese_page(root):
    page = root.post("/admin/users?lang=zh_CN", data={**NEW, "password": "short"})
    assert page.status_code == 400 and "密码至少需要 8 个字符" in page.text


def test_the_list_searches_and_pages(app, root, make_user):
    for n in range(30):
        make_user(f"clerk{n:02d}")
    first = root.get("/admin/users").text
    assert "Page 1 of 2" in first and "clerk00" in first and "wang" not in first
    second = root.get("/admin/users?page=2").text
    assert "Page 2 of 2" in second and "clerk29" in second and "clerk00" not in second
    found = root.get("/admin/users?q=CLERK1").text
    assert re.findall(r"\(clerk\d\d\)", found) == [f"(clerk1{n})" for n in range(10)]
    assert "No user matches “nobody”" in root.get("/admin/users?q=nobody").text
    assert root.get("/admin/users?q=%25").status_code == 200  # a LIKE wildcard is plain text


def test_roles_and_groups_are_changed_and_audited(app, root):
    changed = root.post("/admin/users/alice", data={
        "display_name": "王丽", "email": "alice@example.com", "roles": ["designer"],
        "groups": ["legal"]})
    assert changed.status_code == 302
    page = root.get("/admin/users/alice").text
    assert _checked(page, "roles") == {"designer"} and _checked(page, "groups") == {"legal"}
    assert events(app, "user.changed") == [
        {"actor": "root", "user": "alice", "display_name": "王丽",
         "email": "alice@example.com", "roles": ["designer"], "groups": ["legal"]}]
    # The head of a group stays in it; an administrator keeps their own admin role.
    refused = root.post("/admin/users/bob", data={"display_name": "bob", "groups": []})
    assert refused.status_code == 400 and "bob heads sales: name another head first" \
        in refused.text
    mine = root.post("/admin/users/root", data={"display_name": "Root", "roles": []})
    assert mine.status_code == 400 and "cannot take the admin role from yourself" in mine.text
    assert _form(mine.text, "display_name") == "Root"


def test_deactivating_asks_first_ends_access_and_reactivating_restores_it(app, org, login,
                                                                           root):
    login("alice")  # she has a password
    unconfirmed = root.post("/admin/users/alice/deactivate")
    assert unconfirmed.status_code == 302
    assert "Confirm to deactivate" in root.get("/admin/users/alice").text
    assert org.alice.get("/api/v1/me").status_code == 200
    root.post("/admin/users/alice/deactivate", data={"confirm": "yes"})
    assert "Deactivated" in root.get("/admin/users?q=alice").text
    assert org.alice.get("/api/v1/me").status_code == 401  # her token is revoked
    assert app.test_client().post("/login", data={"name": "alice", "password": PASSWORD}) \
        .status_code != 302
    root.post("/admin/users/alice/reactivate", data={"confirm": "yes"})
    assert app.test_client().post("/login", data={"name": "alice", "password": PASSWORD}) \
        .status_code == 302
    assert [e["user"] for e in events(app, "user.deactivated")] == ["alice"]
    assert events(app, "user.reactivated") == [{"actor": "root", "user": "alice"}]
    root.post("/admin/users/root/deactivate", data={"confirm": "yes"})
    assert "cannot deactivate yourself" in root.get("/admin/users/root").text


def test_tokens_are_listed_and_revoked_and_lockouts_lifted(app, org, login, root):
    with app.app_context(), unit_of_work(db.session):
        directory.create_token(db.session, directory.get_user(db.session, "alice"), name="ERP")
    page = root.get("/admin/users/alice").text
    token_id = re.search(r"ERP <span class=\"muted\">#(\d+)", page).group(1)
    root.post(f"/admin/users/alice/tokens/{token_id}/revoke", data={"confirm": "yes"})
    assert "ERP" not in root.get("/admin/users/alice").text
    assert [e["name"] for e in events(app, "user.token_revoked")] == ["ERP"]

    login("alice")  # she has a password now; five wrong ones lock her name
    stranger = app.test_client()
    for _ in range(5):
        stranger.post("/login", data={"name": "alice", "password": "wrong"})
    assert "Locked out" in root.get("/admin/users?q=alice").text
    assert "Locked out after 5 failed log-ins" in root.get("/admin/users/alice").text
    unlocked = root.post("/admin/users/alice/unlock")
    assert unlocked.status_code == 302
    assert "alice may log in again" in root.get("/admin/users/alice").text
    assert stranger.post("/login", data={"name": "alice", "password": PASSWORD}) \
        .status_code == 302
    assert events(app, "user.unlocked")[-1] == {"actor": "root", "user": "alice",
                                                "was_locked": True}


def test_the_list_shows_who_and_which_addresses_are_locked_out_and_lifts_them(app, org, login,
                                                                              root):
    from datetime import timedelta

    from processes.auth_models import LoginThrottle
    from processes.models import utcnow
    until = utcnow() + timedelta(minutes=15)
    with app.app_context(), unit_of_work(db.session):
        db.session.add_all([
            LoginThrottle(scope="name", key="alice", failures=5, locked_until=until),
            LoginThrottle(scope="name", key="no-such-user", failures=9, locked_until=until),
            LoginThrottle(scope="address", key="203.0.113.9", failures=20,
                          locked_until=until)])
    page = root.get("/admin/users").text
    section = page[page.index('id="lockouts"'):page.index('id="add-user"')]
    assert "/admin/users/alice" in section and "203.0.113.9" in section
    assert "no-such-user" not in section  # a name that is no user's locks nobody out
    assert root.post("/admin/lockouts/address", data={"address": "203.0.113.9"}) \
        .headers["Location"] == "/admin/users#lockouts"
    assert "Log-ins from 203.0.113.9 are allowed again" in root.get("/admin/users").text
    root.post("/admin/users/alice/unlock")
    assert 'id="lockouts"' not in root.get("/admin/users").text
    assert events(app, "login.address_unblocked") == [
        {"actor": "root", "address": "203.0.113.9", "was_locked": True}]
    assert login("alice").post("/admin/lockouts/address",
                               data={"address": "203.0.113.9"}).status_code == 403


def test_a_forgotten_password_is_replaced_and_the_old_access_ends(app, org, login, root):
    alice = login("alice")
    short = root.post("/admin/users/alice/password",
                      data={"new_password": "short", "confirm_password": "short"})
    assert short.status_code == 400 and 'id="err-new_password"' in short.text
    differ = root.post("/admin/users/alice/password",
                       data={"new_password": "brand-new-pass", "confirm_password": "other-pass"})
    assert differ.status_code == 400 and "the two new passwords differ" in differ.text
    done = root.post("/admin/users/alice/password",
                     data={"new_password": "brand-new-pass", "confirm_password": "brand-new-pass"})
    assert done.status_code == 302
    assert "New password set for alice" in root.get("/admin/users/alice").text
    assert alice.get("/inbox").status_code == 302  # her session ended
    assert org.alice.get("/api/v1/me").status_code == 401  # and her token
    assert app.test_client().post("/login", data={"name": "alice",
                                                  "password": "brand-new-pass"}).status_code == 302
    assert [e["actor"] for e in events(app, "user.password_changed")] == ["root"]
    assert login("bob").post("/admin/users/alice/password", data={
        "new_password": "brand-new-pass", "confirm_password": "brand-new-pass"}).status_code == 403
