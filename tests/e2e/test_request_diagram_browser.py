"""Where a request is, in Chromium: after the department head approves a large contract, the
requester's request page and the legal reviewer's task page draw the flow with the legal review
outlined as the current step and the steps before it done; on a phone the diagram scrolls
inside its box and the page stays phone-wide. No JavaScript errors. Screenshots go to
test-artifacts/ (gitignored)."""

from __future__ import annotations

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import PHONE, approve_in_inbox, assert_no_errors, log_in, shoot

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py


def _wait_for_diagram(page) -> None:
    page.wait_for_selector("#flow-diagram[data-diagram=ready]")


def test_the_request_and_task_pages_show_where_the_request_is(demo_server, browser, tmp_path):
    base = demo_server
    errors: list[str] = []
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(make_pdf(text="Framework contract 2026-077"))

    alice = log_in(browser, base, "alice", errors)
    alice.goto(base + "/requests/new")
    alice.set_input_files("input[name=document]", str(contract))
    alice.fill("[name='data.amount']", "1500000")
    alice.fill("[name='data.purpose']", "年度框架合同")
    alice.click("button[type=submit]:has-text('Submit')")
    # The page submits with fetch, then opens the request (the glob matched /requests/new).
    alice.wait_for_url(lambda url: url.rsplit("/", 1)[-1].isdigit())
    request_url = alice.url
    approve_in_inbox(browser, base, "bob", errors)

    alice.goto(request_url)
    _wait_for_diagram(alice)
    assert alice.locator('.sf-current[data-element-id="legal_review"]').count() == 1
    assert alice.locator(".sf-current").count() == 1
    for done in ("submit", "dept_head_approve", "gw_dept", "flow_dept_approved"):
        assert alice.locator(f'.sf-done[data-element-id="{done}"]').count() == 1, done
    assert alice.locator('.sf-done[data-element-id="custodian_approve"]').count() == 0
    assert alice.inner_text("#flow-diagram [data-now]") == "法务审核"
    # The whole flow fits its box: the end events, at either side, are inside it.
    box = alice.locator("#flow-diagram .diagram-canvas").bounding_box()
    for end in ("submit", "end_authorized"):
        shape = alice.locator(f'.djs-element[data-element-id="{end}"]').bounding_box()
        assert box["x"] <= shape["x"] and shape["x"] + shape["width"] <= box["x"] + box["width"]
    shoot(alice.locator("#flow-diagram"), "diagram-request")

    # Lily's task page: her own task is where the request is.
    lily = log_in(browser, base, "lily", errors)
    lily.click("a[href^='/tasks/']")
    _wait_for_diagram(lily)
    assert lily.locator('.sf-current[data-element-id="legal_review"]').count() == 1
    shoot(lily, "diagram-task", full_page=True)

    # A phone: the diagram scrolls inside its box; the page is no wider than the phone.
    phone = log_in(browser, base, "alice", errors, width=PHONE)
    phone.goto(request_url)
    _wait_for_diagram(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE
    scroller = phone.locator("#flow-diagram .diagram-box")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
    # It opens scrolled to where the request is, not to the flow's start.
    view = scroller.bounding_box()
    shape = phone.locator('.djs-element[data-element-id="legal_review"]').bounding_box()
    assert view["x"] <= shape["x"] and shape["x"] + shape["width"] <= view["x"] + view["width"]
    phone.click("#flow-diagram [data-zoom=in]")
    assert phone.locator('.sf-current[data-element-id="legal_review"]').count() == 1
    phone.locator("#flow-diagram").scroll_into_view_if_needed()
    shoot(phone, "diagram-phone")

    assert_no_errors(errors)
