"""The pages in both languages in Chromium: the inbox, a request and the modeler, at 1400 px and
on a phone (390 px), English as Playwright's browser asks (en-US), then Chinese through the top
bar's switch, which keeps the page and is remembered. Screenshots: test-artifacts/lang-*.png."""

from __future__ import annotations

import re

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


def _pages(base: str, request_id: int) -> dict[str, str]:
    return {"inbox": base + "/inbox", "request": f"{base}/requests/{request_id}",
            "modeler": base + "/processes/contract_seal/edit"}


def _wait(page, name: str) -> None:
    if name == "modeler":
        page.wait_for_selector("body[data-modeler=ready]")


def test_the_pages_in_english_then_chinese_at_both_widths(demo_server, browser):  # noqa: F811
    base = demo_server
    errors: list[str] = []
    alice = log_in(browser, base, "alice", errors)
    filed = file_request(alice, base, "contract_seal", make_pdf(text="Contract 2026-7"),
                         {"amount": 80000, "purpose": "年度维保合同"})
    alice.context.close()

    for width in (1400, PHONE):
        alice = log_in(browser, base, "alice", errors, width=width)  # her request
        bob = log_in(browser, base, "bob", errors, width=width)      # the task in his inbox
        dave = log_in(browser, base, "dave", errors, width=width)    # a designer: the modeler
        who = {"inbox": bob, "request": alice, "modeler": dave}
        for name, url in _pages(base, filed["id"]).items():
            page = who[name]
            page.goto(url)
            _wait(page, name)
            assert page.get_attribute("html", "lang") == "en"
            shoot(page, f"lang-{name}-en-{width}", full_page=name != "modeler")
        # English on the inbox: the words, not the codes or both languages side by side.
        bob.goto(base + "/inbox")
        assert bob.locator("h1").inner_text().strip() == "Inbox"
        assert "待办" not in bob.locator("header").inner_text()

        # The switch: this page in Chinese; then every page stays Chinese.
        for page in (alice, bob, dave):
            page.goto(base + "/inbox")
            page.click(".lang-switch a[hreflang=zh-CN]")
            page.wait_for_url(re.compile(r".*/inbox\?lang=zh_CN$"))
        for name, url in _pages(base, filed["id"]).items():
            page = who[name]
            page.goto(url)
            _wait(page, name)
            assert page.get_attribute("html", "lang") == "zh-CN"
            shoot(page, f"lang-{name}-zh-{width}", full_page=name != "modeler")
        assert bob.locator("h1").first.inner_text().strip() == "待办"
        alice.goto(f"{base}/requests/{filed['id']}")
        assert "审批中" in alice.locator("main").inner_text()
        # The top bar, its switch included, no wider than the window.
        for page in (alice, bob, dave):
            assert page.evaluate("document.querySelector('.topbar').scrollWidth") <= width
            page.context.close()
    assert_no_errors(errors)
