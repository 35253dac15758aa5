"""The administration pages and the profile's out-of-office in Chromium, on the demo: the
admin sees Users, Groups, Incidents and /me at 1400 px and on a phone (390 px), in English and
in Chinese, none wider than the screen; on the phone, with the keyboard and the forms'
labels, the admin adds a user, deactivates them after the confirmation, adds a member to a
group and retries an incident; bob sets his out-of-office on /me and a refusal keeps what he
typed. Screenshots: test-artifacts/admin-*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import (  # noqa: F401 - fixtures
    PHONE,
    assert_no_errors,
    browser,
    demo_server,
    file_request,
    log_in,
    shoot,
)

pytestmark = pytest.mark.once

PAGES = {"users": "/admin/users", "user": "/admin/users/alice", "groups": "/admin/groups",
         "group": "/admin/groups/sales", "incidents": "/admin/incidents", "me": "/me"}


def _fits(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") == width, page.url


def test_the_admin_pages_fit_in_both_languages_at_both_widths(demo_server, browser):  # noqa: F811
    base = demo_server
    errors: list[str] = []
    bob = log_in(browser, base, "bob", errors)
    # Bob heads sales himself: his own contract's head approval goes to nobody, an incident.
    stopped = file_request(bob, base, "contract_seal", make_pdf(text="Contract 2026-9"),
                           {"amount": 5000, "purpose": "办公用品采购"})
    assert stopped["status"] == "incident", stopped
    assert bob.goto(base + "/admin/users").status == 403
    assert bob.locator("a[href='/admin/users']").count() == 0
    bob.context.close()

    for width in (1400, PHONE):
        admin = log_in(browser, base, "admin", errors, width=width)
        for lang, html_lang, heading in (("en", "en", "Users"), ("zh_CN", "zh-CN", "用户")):
            admin.goto(f"{base}/admin/users?lang={lang}")
            assert admin.get_attribute("html", "lang") == html_lang
            assert admin.locator("h1").inner_text().strip() == heading
            for name, path in PAGES.items():
                admin.goto(base + path)
                _fits(admin)
                shoot(admin, f"admin-{name}-{lang}-{width}", full_page=True)
            if lang == "en":
                admin.goto(base + "/admin/incidents")
                assert f"#{stopped['id']}" in admin.inner_text("main")
                assert "dept_head_approve" in admin.inner_text("main")
        admin.goto(base + "/admin/users?lang=en")
        admin.context.close()
    assert_no_errors(errors, refused=(403,))


def test_on_a_phone_the_admin_adds_deactivates_and_retries(demo_server, browser):  # noqa: F811
    base = demo_server
    errors: list[str] = []
    admin = log_in(browser, base, "admin", errors, width=PHONE)
    admin.goto(base + "/admin/users?lang=en")
    assert admin.locator("nav.nav a[href='/admin/users']").inner_text() == "Admin"

    # A refusal keeps what was typed; then the user is added.
    admin.get_by_label("User name").fill("wang.fang")
    admin.get_by_label("Display name").fill("王芳")
    admin.get_by_label("E-mail").fill("wang.fang@example.com")
    admin.get_by_label("Initial password").fill("short")
    admin.get_by_label("Auditor").check()
    admin.get_by_label("法务部 (legal)").check()
    admin.get_by_label("Initial password").press("Enter")  # the keyboard submits the form
    admin.wait_for_load_state()
    assert "at least 8 characters" in admin.inner_text("#add-user")
    assert admin.get_by_label("Display name").input_value() == "王芳"
    assert admin.get_by_label("Auditor").is_checked()
    _fits(admin)
    shoot(admin, "admin-add-refused-390", full_page=True)
    admin.get_by_label("Initial password").fill("initial-pass-1")
    admin.click("text=Add the user")
    admin.wait_for_url(base + "/admin/users/wang.fang")
    assert "User wang.fang added" in admin.inner_text("main")

    # Deactivating asks first.
    admin.click("summary:has-text('Deactivate…')")
    admin.click("button:has-text('Deactivate wang.fang')")
    admin.wait_for_url(base + "/admin/users/wang.fang")
    assert "wang.fang is deactivated" in admin.inner_text("main")
    _fits(admin)
    shoot(admin, "admin-user-deactivated-390", full_page=True)

    # A member is added to a group.
    admin.goto(base + "/admin/groups/legal")
    admin.get_by_label("Add a member (user name)").fill("carol")
    admin.click("button:has-text('Add')")
    assert "carol added to the group" in admin.inner_text("main")

    # The incident is retried: it stops again (bob still heads his own department).
    admin.goto(base + "/admin/incidents")
    retry = admin.locator("button:has-text('Retry #')").first
    box = retry.bounding_box()
    assert box is not None and box["height"] >= 44
    retry.click()
    admin.wait_for_url(base + "/admin/incidents")
    assert "stopped again" in admin.inner_text("main")
    _fits(admin)
    shoot(admin, "admin-incident-retried-390", full_page=True)
    admin.context.close()

    # Bob sets his out-of-office on /me; his own name as deputy is refused, what he typed kept.
    bob = log_in(browser, base, "bob", errors, width=PHONE)
    bob.goto(base + "/me#away")
    today = datetime.now(UTC).date()
    bob.get_by_label("First day away").fill(today.isoformat())
    bob.get_by_label("Last day away").fill((today + timedelta(days=5)).isoformat())
    bob.get_by_label("Deputy (user name)").fill("bob")
    bob.click("button:has-text('Set out-of-office')")
    bob.wait_for_load_state()
    assert "bob cannot be their own deputy" in bob.inner_text("#away")
    assert bob.get_by_label("Last day away").input_value() == \
        (today + timedelta(days=5)).isoformat()
    bob.get_by_label("Deputy (user name)").fill("lily")
    bob.click("button:has-text('Set out-of-office')")
    bob.wait_for_url(base + "/me#away")
    assert "new tasks for you go to 李娜" in bob.inner_text("#away")
    _fits(bob)
    shoot(bob, "admin-me-away-390", full_page=True)
    bob.context.close()
    assert_no_errors(errors, refused=(400, 400))
