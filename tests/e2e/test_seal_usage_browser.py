"""The seal-usage log's pages and a share link's in Chromium, on a desktop (1400 px) and a phone
(390 px, where the table becomes cards), in Chinese and English, as the custodian (carol) and the
auditor (audrey) read them: a sealed request with its approvers, filters kept in the address; a
share link with a password opened signed out; nothing wider than the phone, no JavaScript
errors. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import (
    PHONE,
    assert_no_errors,
    complete_task,
    file_request,
    log_in,
    overflow,
    shoot,
    wait_sealed,
)

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py



def test_the_usage_log_pages(demo_server, browser):
    base = demo_server
    errors: list[str] = []
    alice = log_in(browser, base, "alice", errors)
    req = file_request(alice, base, "contract_seal", make_pdf(text="Lease 2026-031"),
                       {"amount": 50000, "purpose": "办公室租赁合同", "counterparty": "某某物业"})
    complete_task(log_in(browser, base, "bob", errors), base, req["id"], "dept_head_approve")
    carol = log_in(browser, base, "carol", errors)
    complete_task(carol, base, req["id"], "custodian_approve")
    wait_sealed(alice, base, req["id"])

    for name in ("carol", "audrey"):
        for lang in ("zh_CN", "en"):
            for width in (1400, PHONE):
                page = log_in(browser, base, name, errors, width)
                page.goto(f"{base}/seal-usage?lang={lang}")
                row = page.locator("table.usage-log tbody tr").first
                text = row.inner_text()
                assert f"#{req['id']}" in text and "办公室租赁合同" in text
                assert "张伟" in text or "bob" in text  # the department head's decision
                assert overflow(page) <= 0, (name, lang, width)
                if name == "carol":
                    shoot(page, f"seal-usage-{lang}-{width}", full_page=True)
                page.context.close()

    # Filters in the address: the form's values come back; a requester with no use, none.
    page = log_in(browser, base, "audrey", errors, PHONE)
    page.goto(f"{base}/seal-usage?lang=en")
    page.fill("#usage-requester", "bob")
    page.click(".usage-filters button[type=submit]")
    page.wait_for_url("**requester=bob**")
    assert page.input_value("#usage-requester") == "bob"
    assert "No use matches these filters." in page.inner_text(".card")
    shoot(page, f"seal-usage-filtered-en-{PHONE}", full_page=True)
    page.context.close()

    # A share link, made on the request page with a password, opened by someone signed out.
    page = log_in(browser, base, "alice", errors, PHONE)
    page.goto(f"{base}/requests/{req['id']}?lang=zh_CN")
    page.fill("#share-password", "open-sesame")
    page.click("#shares button[type=submit]")
    page.wait_for_selector(".flash.success")
    assert overflow(page) <= 0
    shoot(page.locator("#shares"), f"share-links-zh_CN-{PHONE}")
    url = page.inner_text(".flash.success").split("：", 1)[1].strip()
    page.context.close()
    for lang in ("zh_CN", "en"):
        for width in (1400, PHONE):
            visitor = browser.new_context(viewport={"width": width, "height": 900}).new_page()
            visitor.goto(f"{url}?lang={lang}")
            visitor.fill("#share-password", "open-sesame")
            visitor.click("button[type=submit]")
            visitor.wait_for_selector(".share-sigs")
            assert "办公室" not in visitor.inner_text("h1")
            shoot(visitor, f"share-{lang}-{width}", full_page=True)
            assert overflow(visitor) <= 0, (lang, width)
            visitor.context.close()

    # Guessing: five wrong passwords lock the link (the demo's LOGIN_FAILURES), whoever tries
    # next is told how long to wait, in their language, on a phone and at a desk.
    for lang, width in (("zh_CN", PHONE), ("en", PHONE), ("en", 1400), ("zh_CN", 1400)):
        guesser = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        guesser.goto(f"{url}?lang={lang}")
        for n in range(5 if width == PHONE and lang == "zh_CN" else 1):  # the fifth locks it
            guesser.fill("#share-password", f"guess-{n}")
            with guesser.expect_navigation():  # the answer's page, not the one it replaces
                guesser.click("button[type=submit]")
        alert = guesser.inner_text(".field-error")
        assert ("密码错误次数过多" in alert) if lang == "zh_CN" else ("Too many wrong" in alert)
        assert guesser.locator(".share-sigs").count() == 0
        assert guesser.inner_text("button[type=submit]") == ("打开" if lang == "zh_CN" else "Open")
        assert overflow(guesser) <= 0, (lang, width)
        shoot(guesser, f"share-locked-{lang}-{width}", full_page=True)
        guesser.context.close()
    assert_no_errors(errors)
