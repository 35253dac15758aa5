"""The archive in Chromium (/archive), as an auditor (audrey) and a requester (alice) use it,
on a desktop (1400 px) and a phone (390 px), in Chinese and English: two contracts sealed in
the demo are found by a Chinese word of their text, the word marked in the snippet; the
filters are the address's query; a document is put under legal hold; the requester finds her
own. Nothing is wider than the phone; no JavaScript errors. Screenshots go to test-artifacts/."""

from __future__ import annotations

import time

import pytest

from tests.app.test_archive import chinese_pdf
from tests.e2e.browser_pages import (
    PHONE,
    api_get,
    assert_no_errors,
    complete_task,
    file_request,
    log_in,
    overflow,
    shoot,
)

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py



def _sealed_and_filed(page, base: str, request_ids: list[int]) -> None:
    """Wait (bounded) until the requests are sealed and filed by the job after it."""
    for _ in range(300):
        filed = {hit["request_id"] for hit in api_get(page, base, "/archive")}
        if set(request_ids) <= filed:
            return
        time.sleep(0.2)
    pytest.fail(f"not filed: {request_ids}")


def test_the_archive_finds_chinese_text_and_follows_who_may_see(demo_server, browser):
    base = demo_server
    errors: list[str] = []
    alice = log_in(browser, base, "alice", errors)
    purchase = file_request(alice, base, "contract_seal", chinese_pdf(
        ["采购合同 2026-021", "本合同由甲方签署，乙方盖章后生效。", "付款：验收合格后三十日内。"]),
        {"amount": 50000, "purpose": "办公设备采购合同", "counterparty": "某某公司"})
    lease = file_request(alice, base, "contract_seal", chinese_pdf(
        ["仓库租赁协议", "租期三年，租金按季度支付。"]),
        {"amount": 40000, "purpose": "仓库租赁", "counterparty": "某仓储"})
    bob = log_in(browser, base, "bob", errors)
    carol = log_in(browser, base, "carol", errors)
    for req in (purchase, lease):
        complete_task(bob, base, req["id"], "dept_head_approve")
        complete_task(carol, base, req["id"], "custodian_approve")
    audrey = log_in(browser, base, "audrey", errors)
    _sealed_and_filed(audrey, base, [purchase["id"], lease["id"]])

    for lang in ("en", "zh_CN"):
        for width in (1400, PHONE):
            page = log_in(browser, base, "audrey", errors, width, touch=width == PHONE)
            page.goto(f"{base}/archive?lang={lang}")
            assert page.locator("table.archive-list tbody tr").count() == 2
            assert overflow(page) <= 0, (lang, width)
            shoot(page, f"archive-{lang}-{width}", full_page=True)
            page.fill("#ar-q", "甲方签署")
            page.click("form.archive-search button[type=submit]")
            page.wait_for_url(f"{base}/archive?*q=*")
            rows = page.locator("table.archive-list tbody tr")
            assert rows.count() == 1 and f"#{purchase['id']}" in rows.first.inner_text()
            assert rows.first.locator(".archive-snippet mark").first.inner_text() == "甲方签署"
            assert overflow(page) <= 0, (lang, width)
            shoot(page, f"archive-search-{lang}-{width}", full_page=True)
            page.context.close()

    # Filters in the address: a business type, a title, a day range; nothing found says so.
    audrey.goto(f"{base}/archive?lang=en&title=租赁")
    assert audrey.locator("table.archive-list tbody tr").count() == 1
    audrey.goto(f"{base}/archive?lang=en&q=董事会")
    assert "No archived document matches" in audrey.inner_text(".card")
    audrey.goto(f"{base}/archive?lang=en&from=tomorrow")
    assert "from must be a date" in audrey.inner_text(".flash.error")

    # Legal hold, with a reason; shown on the row.
    phone = log_in(browser, base, "audrey", errors, PHONE, touch=True)
    phone.goto(f"{base}/archive?lang=zh_CN&q=租金")
    phone.click("details.archive-hold summary")
    phone.fill("details.archive-hold input[name=reason]", "诉讼保全：(2026)沪01民初123号")
    shoot(phone, f"archive-hold-zh_CN-{PHONE}", full_page=True)
    phone.click("details.archive-hold button[type=submit]")
    phone.wait_for_selector(".flash")
    assert "法律保全" in phone.inner_text("table.archive-list")
    assert overflow(phone) <= 0
    shoot(phone, f"archive-held-zh_CN-{PHONE}", full_page=True)

    # The verification of an archived document, and its download.
    audrey.goto(f"{base}/archive?lang=en&q=甲方")
    audrey.click("table.archive-list a:has-text('Verify')")
    audrey.wait_for_url(f"{base}/archive/{purchase['id']}/verify")
    shoot(audrey, "archive-verify-en-1400", full_page=True)

    # The requester finds her own; someone with no part in them (helen) finds nothing.
    alice.goto(f"{base}/archive?lang=zh_CN&q=合同")
    assert alice.locator("table.archive-list tbody tr").count() == 1
    helen = log_in(browser, base, "helen", errors)
    helen.goto(f"{base}/archive?lang=en")
    assert helen.locator("table.archive-list").count() == 0
    assert_no_errors(errors)
