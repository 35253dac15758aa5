"""My requests and the request page in Chromium, as the requester (alice) uses them, on a desktop
(1400 px) and a phone (390 px), in Chinese and English: the list says who holds each request
and finds one by a word of its purpose; 催办 reminds the department head once; withdrawing
asks why, in a confirmation, and shows the reason; copy and resubmit opens the new-request
form filled in. While a request waits for its seal (the seal suspended, then resumed), its
page follows it by itself: the sealed download appears without a reload by hand. Nothing is
wider than the phone; no JavaScript errors. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import pytest

from tests.conftest import make_pdf
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

WIDTHS = (1400, PHONE)
LANGS = ("en", "zh_CN")



def _seal_status(admin, base: str, seal_id: int, to: str, reason: str) -> None:
    """The admin moves the seal to ``to`` on its page's form (resume is an admin's)."""
    admin.goto(f"{base}/seals/{seal_id}")
    token = admin.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = admin.request.post(f"{base}/seals/{seal_id}/status", form={
        "csrf_token": token or "", "to": to, "reason": reason})
    assert answer.ok, answer.status


def test_my_requests_and_a_request_that_seals_itself(demo_server, browser):
    base = demo_server
    errors: list[str] = []
    alice = log_in(browser, base, "alice", errors)
    pdf = make_pdf(text="Purchase contract 2026-015")
    sealing = file_request(alice, base, "contract_seal", pdf,
                           {"amount": 50000, "purpose": "办公设备采购", "counterparty": "某某公司"})
    withdrawing = file_request(alice, base, "contract_seal", pdf,
                               {"amount": 80000, "purpose": "仓库租赁", "counterparty": "某仓储"})

    # The list, in both languages and widths: who holds each request, and nothing too wide.
    for lang in LANGS:
        for width in WIDTHS:
            page = log_in(browser, base, "alice", errors, width)
            page.goto(f"{base}/requests?lang={lang}")
            body = page.inner_text("table.req-list")
            assert "张伟 (销售部负责人)" in body and "部门负责人审批" in body
            assert overflow(page) <= 0, (lang, width, overflow(page))
            shoot(page, f"my-requests-{lang}-{width}", full_page=True)
            page.goto(f"{base}/requests/{sealing['id']}?lang={lang}")
            assert overflow(page) <= 0, (lang, width, overflow(page))
            shoot(page, f"request-running-{lang}-{width}", full_page=True)
            page.context.close()

    # Search by a word of the purpose.
    alice.goto(f"{base}/requests?lang=en")
    alice.fill("#req-q", "仓库")
    alice.click("form.req-search button[type=submit]")
    alice.wait_for_url(f"{base}/requests?*q=*")
    rows = alice.locator("table.req-list tbody tr")
    assert rows.count() == 1 and f"#{withdrawing['id']}" in rows.first.inner_text()

    # 催办: once; then the button waits for the hour.
    alice.goto(f"{base}/requests/{withdrawing['id']}")
    alice.click("form.remind button")
    alice.wait_for_selector(".flash.success")
    assert "Reminder sent to 1 person." in alice.inner_text(".flash.success")
    assert alice.locator("form.remind button").is_disabled()
    assert "Next reminder possible at" in alice.inner_text("form.remind")

    # Withdraw: the confirmation asks why; the reason is shown afterwards.
    phone = log_in(browser, base, "alice", errors, PHONE)
    phone.goto(f"{base}/requests/{withdrawing['id']}?lang=en")
    phone.click("details.withdraw summary")
    phone.fill("#withdraw-reason", "仓库合同改由总部签署")
    assert overflow(phone) <= 0
    shoot(phone, f"request-withdraw-confirm-en-{PHONE}", full_page=True)
    phone.click("details.withdraw button[type=submit]")
    phone.wait_for_selector(".notice.withdrawn")
    assert "仓库合同改由总部签署" in phone.inner_text(".notice.withdrawn")
    assert overflow(phone) <= 0
    shoot(phone, f"request-withdrawn-en-{PHONE}", full_page=True)
    # Copy and resubmit: the new-request form, filled in as the withdrawn one was.
    phone.click("a:has-text('Copy and resubmit')")
    phone.wait_for_url(f"{base}/requests/new?copy_of={withdrawing['id']}")
    assert phone.input_value("[name='data.purpose']") == "仓库租赁"
    assert phone.input_value("[name='data.amount']") == "80000"
    assert phone.locator("input[name=copy_of]").count() == 1
    shoot(phone, f"request-copy-en-{PHONE}", full_page=True)
    phone.context.close()

    # Sealing, followed by the page on its own: the department head approves; the seal is
    # suspended, so the request halts and the page says why; the seal resumed, the page
    # reloads by itself; the custodian approves, and the sealed download appears on the page
    # alice has open, which she never reloads.
    bob = log_in(browser, base, "bob", errors)
    complete_task(bob, base, sealing["id"], "dept_head_approve")
    admin = log_in(browser, base, "admin", errors)
    seal_id = api_get(alice, base, f"/requests/{sealing['id']}")["seal"]
    _seal_status(admin, base, seal_id, "suspended", "年度盘点")
    watching = log_in(browser, base, "alice", errors, PHONE)
    loads: list[str] = []
    watching.on("load", lambda page: loads.append(page.url))
    watching.goto(f"{base}/requests/{sealing['id']}?lang=zh_CN")
    assert "年度盘点" in watching.inner_text(".notice.halted")
    assert watching.get_attribute("#request-watch", "data-every") == "3000"
    assert overflow(watching) <= 0
    shoot(watching, f"request-halted-zh_CN-{PHONE}", full_page=True)
    _seal_status(admin, base, seal_id, "active", "盘点完毕")
    watching.wait_for_selector("#request-watch[data-status=running]", state="attached",
                               timeout=30_000)
    assert watching.locator(".notice.halted").count() == 0
    carol = log_in(browser, base, "carol", errors)
    complete_task(carol, base, sealing["id"], "custodian_approve")
    watching.wait_for_selector("#sealed-notice a[href$='/sealed']", timeout=90_000)
    assert "已盖章" in watching.inner_text("#sealed-notice")
    assert watching.locator("#request-watch").count() == 0  # sealed: it stops asking
    # The notice is in the page before its load event fires; count the loads after it has.
    watching.wait_for_load_state("load")
    assert len(loads) >= 3  # the first load, then two by itself, none by hand
    assert overflow(watching) <= 0
    shoot(watching, f"request-sealed-zh_CN-{PHONE}", full_page=True)
    assert_no_errors(errors)
