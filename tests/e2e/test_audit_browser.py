"""/audit in Chromium as the demo's auditor (audrey) reads it on a phone: the navigation's
entry, the events as cards with nothing wider than the screen, a filter chosen in the form
(no script needed), the request's page one tap away, the CSV downloaded; then the page in
English and Chinese, 1400 and 390 px wide. Screenshots: test-artifacts/audit-*.png."""

from __future__ import annotations

import time

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import (  # noqa: F401 - fixtures
    PASSWORD,
    PHONE,
    assert_no_errors,
    browser,
    demo_server,
    file_request,
    log_in,
    shoot,
)

pytestmark = pytest.mark.once


def _page(browser, base: str, name: str, errors: list[str], width: int, locale: str):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale,
                                  has_touch=width == PHONE, is_mobile=width == PHONE,
                                  accept_downloads=True)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{name}: page error {exc}"))
    page.on("console", lambda m: errors.append(f"{name}: console {m.text}")
            if m.type == "error" else None)
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/inbox")
    return page


def test_an_auditor_reads_filters_and_downloads_the_log_on_a_phone(demo_server,  # noqa: F811
                                                                    browser):  # noqa: F811
    base, errors = demo_server, []
    alice = log_in(browser, base, "alice", errors)
    rid = file_request(alice, base, "contract_seal", make_pdf(text="Contract 2026-090"),
                       {"amount": 90_000, "purpose": "审计查看"})["id"]
    alice.context.close()

    audrey = _page(browser, base, "audrey", errors, PHONE, "zh-CN")
    audrey.click("nav.nav a[href='/audit']")
    audrey.wait_for_url(base + "/audit")
    assert audrey.inner_text("h1") == "审计日志"
    assert audrey.evaluate("document.documentElement.scrollWidth") == PHONE
    shoot(audrey, "audit-zh-390", full_page=True)

    # A family of actions chosen in the form: the address carries it.
    audrey.select_option("#af-action", "request.")
    audrey.fill("#af-request", str(rid))
    audrey.click(".audit-filter-buttons button[type=submit]")
    audrey.wait_for_url("**/audit?**action=request.**")
    codes = audrey.locator("code.audit-code").all_inner_texts()
    assert codes == ["request.created"], codes
    card = audrey.locator("table.audit-list tbody tr").first
    assert card.bounding_box()["width"] <= PHONE
    assert "alice" in card.inner_text()
    assert audrey.evaluate("document.documentElement.scrollWidth") == PHONE
    shoot(audrey, "audit-zh-390-filtered", full_page=True)

    with audrey.expect_download() as waiting:
        audrey.click("a[href^='/audit/export?format=csv']")
    path = waiting.value.path()
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\ufeffseq,at,actor,action")
    assert text.count("request.created") == 1  # the filter the page shows

    audrey.click(f"a[href='/requests/{rid}']")
    audrey.wait_for_url(f"{base}/requests/{rid}")
    audrey.context.close()

    for width in (1400, PHONE):
        for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
            page = _page(browser, base, "audrey", errors, width, locale)
            page.goto(base + "/audit")
            heading = page.inner_text("h1")
            assert heading == ("Audit log" if lang == "en" else "审计日志"), heading
            words = page.inner_text("table.audit-list")
            assert ("Request submitted" in words) == (lang == "en"), lang
            assert "request.created" in words
            if width == PHONE:
                assert page.evaluate("document.documentElement.scrollWidth") == PHONE
            shoot(page, f"audit-{lang}-{width}", full_page=True)
            page.context.close()

    alice = _page(browser, base, "alice", errors, 1400, "en-US")
    assert alice.locator("nav.nav a[href='/audit']").count() == 0
    assert alice.goto(base + "/audit").status == 403
    alice.context.close()
    time.sleep(0.5)  # the last pages' late console messages
    assert_no_errors(errors, refused=(403,))
