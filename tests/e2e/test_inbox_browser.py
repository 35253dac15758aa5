"""The inbox in Chromium, on a desktop (1400 px) and a phone (390 px), in English and Chinese:
the department head claims a task, selects all and approves them in bulk (confirming), and
reads each one's result; the legal reviewer's bulk approval fails with the reason (the form
the step asks for); the requester, who has no task, sees her latest requests and the way to a
new one. On a phone the rows are cards, nothing is wider than the screen and every control is
at least 44 px tall. The top bar counts the unread notices. No JavaScript errors. Screenshots
go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import PHONE, assert_no_errors, file_request, log_in, shoot

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

WIDTHS = (1400, PHONE)


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") == \
        page.evaluate("window.innerWidth"), page.url


def _tall_enough(page, selector: str) -> None:
    """Every visible control matching ``selector`` is at least 44 px tall (a phone's tap)."""
    for box in page.locator(selector).all():
        if box.is_visible():
            height = box.bounding_box()["height"]
            assert height >= 44, (selector, box.inner_text() or box.get_attribute("name"),
                                  height)


def _shoot_both_languages(page, base: str, path: str, name: str, width: int) -> None:
    for lang in ("en", "zh_CN"):
        page.goto(f"{base}{path}{'&' if '?' in path else '?'}lang={lang}")
        _fits(page)
        if width == PHONE:
            _tall_enough(page, ".inbox-list .btn, .inbox-tabs a, .bulk-bar .btn, "
                               ".inbox-filters .btn, .notices .btn, .inbox-empty .btn")
        shoot(page, f"inbox-{name}-{lang}-{width}", full_page=True)
    page.goto(f"{base}/inbox?lang=en")


def test_the_inbox_in_a_browser(demo_server, browser):
    base = demo_server
    errors: list[str] = []
    alice = log_in(browser, base, "alice", errors)
    filed = [file_request(alice, base, "contract_seal", make_pdf(text=f"Contract {n}"),
                          {"amount": amount, "purpose": purpose})
             for n, (amount, purpose) in enumerate([(50_000, "采购合同"), (80_000, "租赁合同"),
                                                    (2_000_000, "年度框架合同")])]
    ids = [r["id"] for r in filed]

    # The department head, on a desktop and a phone, in both languages.
    for width in WIDTHS:
        bob = log_in(browser, base, "bob", errors, width)
        rows = bob.locator(".inbox-list tbody tr")
        assert rows.count() == 3
        assert bob.locator(".inbox-tabs a.active .count").inner_text() == "3"
        assert bob.locator(".notice-count .count").inner_text() == "3"  # a notice per task
        _shoot_both_languages(bob, base, "/inbox", "bob", width)
        if width == PHONE:  # each row a card: its fields stacked, labelled
            assert rows.first.evaluate("tr => getComputedStyle(tr).display") == "block"
        # The filters, opened, chosen with the keyboard, sent: the address holds them.
        bob.click("summary:has-text('Filters and order')")
        bob.focus("#f-sort")
        bob.keyboard.press("ArrowDown")  # the oldest first
        bob.select_option("#f-due", "week")
        _fits(bob)
        shoot(bob, f"inbox-bob-filters-en-{width}", full_page=True)
        bob.click(".more-filters button[type=submit]")
        bob.wait_for_url("**/inbox?**due=week**")
        assert bob.locator(".inbox-empty").inner_text().startswith("No task matches")
        assert bob.locator(".more-filters").get_attribute("open") is not None
        bob.click("a:has-text('Clear the filters')")
        bob.wait_for_url(base + "/inbox")
        assert bob.locator(".inbox-list tbody tr").count() == 3
        bob.context.close()

    bob = log_in(browser, base, "bob", errors)
    bob.locator(".inbox-list tbody tr", has_text=f"#{ids[1]}").locator(
        "button:has-text('Claim')").click()
    bob.wait_for_url(base + "/inbox")
    assert "Claimed: only you can work it now." in bob.inner_text(".flash.success")
    assert bob.locator(".inbox-list tbody tr", has_text=f"#{ids[1]}").locator(
        ".badge.claimed").count() == 1
    # Select all on this page (the script shows the box), then approve them, confirming.
    bob.check("#pick-all")
    assert bob.locator("input[name=task]:checked").count() == 3
    bob.fill("#bulk-comment", "同意盖章")
    asked: list[str] = []

    def confirm(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    bob.on("dialog", confirm)
    bob.click("button:has-text('Approve selected')")
    bob.wait_for_selector(".bulk-results")
    assert asked == ["Approve the 3 selected tasks?"]
    assert bob.locator(".bulk-results li.ok").count() == 3
    assert "3 of 3 approved." in bob.inner_text(".flash")
    assert "Nothing waits for you." in bob.inner_text(".inbox-empty")
    shoot(bob, "inbox-bob-bulk-results-en-1400", full_page=True)
    done = bob.goto(base + "/inbox?tab=done")
    assert done is not None and done.status == 200
    assert bob.locator(".inbox-list tbody tr").count() == 3
    shoot(bob, "inbox-bob-done-en-1400", full_page=True)
    bob.context.close()

    # The legal reviewer, on a phone, in Chinese: the large contract's review asks for the
    # legal opinion, which a bulk approval cannot give: said on its result.
    lily = log_in(browser, base, "lily", errors, PHONE)
    lily.goto(base + "/inbox?lang=zh_CN")
    assert lily.locator(".inbox-list tbody tr").count() == 1
    lily.check(f".inbox-list tbody tr:has-text('#{ids[2]}') input[name=task]")
    lily.on("dialog", lambda dialog: dialog.accept())
    lily.click("button:has-text('批量同意')")
    lily.wait_for_selector(".bulk-results")
    failed = lily.inner_text(".bulk-results li.failed")
    assert "未批准" in failed and "legal_opinion" in failed, failed
    _fits(lily)
    shoot(lily, "inbox-lily-bulk-refused-zh-390", full_page=True)
    lily.context.close()

    # The requester has no task: her latest requests, and the way to a new one.
    for width in WIDTHS:
        alice = log_in(browser, base, "alice", errors, width)
        assert alice.locator(".latest-requests li").count() == 3
        assert alice.locator(".inbox-empty a[href='/requests/new']").is_visible()
        _shoot_both_languages(alice, base, "/inbox", "alice", width)
        alice.context.close()

    assert_no_errors(errors)
