"""The decision-table page in Chromium: a manager opens the shipped contract flow's routing
table from the flow page, lowers the amount above which Legal reviews a contract (1,000,000 to
500,000) in dmn-js, validates and deploys with a comment; a request for 700,000 filed after it
goes to Legal (checked through the API). A requester gets 403. Screenshots go to
test-artifacts/ (gitignored)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_pdf
from tests.e2e.browser_pages import PHONE, approve_in_inbox, assert_no_errors, log_in, shoot

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py


def _cell(page, text: str):
    # A space typed into a cell may come back as a no-break space.
    # (The cell's text, not the FEEL editor that overlays it while it has the focus.)
    pattern = r"^\s*" + r"\s+".join(map(re.escape, text.split())) + r"\s*$"
    return page.locator(".tjs-table td.input-cell div.content-editable",
                        has_text=re.compile(pattern))


def _edit_cell(page, old: str, new: str) -> None:
    """Retype one cell of the open decision table, as a person does: click, select, type."""
    cell = _cell(page, old)
    assert cell.count() == 1, old
    cell.click()
    page.keyboard.press("Control+a")
    page.keyboard.type(new)
    page.keyboard.press("Escape")
    _cell(page, new).wait_for(state="attached")


def test_a_manager_lowers_a_threshold_and_the_next_request_routes_by_it(
        demo_server, browser, tmp_path):
    base = demo_server
    errors: list[str] = []
    dave = log_in(browser, base, "dave", errors)  # the demo's designer and manager

    dave.goto(base + "/processes/contract_seal")
    dave.click("a:has-text('Decision tables')")
    dave.wait_for_selector("body[data-decisions=ready]")
    assert "<definitions" not in dave.inner_text("main")  # a table, never XML
    assert dave.is_visible("[data-decision=contract_routing]")
    # Only the first half of the change: the two rules overlap, which Validate marks.
    _edit_cell(dave, "> 1000000", "> 500000")
    dave.click("#decisions-validate")
    dave.wait_for_selector('td.sf-warning-cell[data-row-id="Rule_contract_small"]')
    assert "Rule_contract_large (row 3) and Rule_contract_small (row 4) overlap" in \
        dave.inner_text("#decisions-problems")
    shoot(dave, "decisions-overlap")
    _edit_cell(dave, "<= 1000000", "<= 500000")
    shoot(dave, "decisions-edited")

    dave.click("#decisions-validate")
    dave.wait_for_selector("#decisions-result.good")
    assert "No problems found" in dave.inner_text("#decisions-summary")

    dave.click("#decisions-deploy")
    dave.fill("#decisions-comment", "合同专用章法务审核阈值降至 50 万 / legal review above 500,000")
    dave.click("#decisions-deploy-confirm")
    dave.wait_for_selector("#decisions-summary:has-text('Deployed version 2')")
    # What changed, against version 1: the table's two rules, and a link to compare.
    assert "1 table(s) changed: contract_routing (2 rule(s) changed)" in \
        dave.inner_text("#decisions-summary")
    assert dave.get_attribute("#decisions-summary a.studio-diff-link", "href") == \
        "/processes/contract_seal/diff?from=1&to=2"
    shoot(dave, "decisions-deployed")
    files = dave.request.get(base + "/api/v1/processes/contract_seal/versions/2").json()["files"]
    assert "&gt; 500000" in files["contract_routing.dmn"]
    assert files["contract_seal.bpmn"] == dave.request.get(
        base + "/api/v1/processes/contract_seal/versions/1").json()["files"]["contract_seal.bpmn"]

    # The next request for 700,000 (under the old threshold, above the new) goes to Legal.
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(make_pdf(text="Service contract 2026-077"))
    alice = log_in(browser, base, "alice", errors)
    alice.goto(base + "/requests/new")
    alice.set_input_files("input[name=document]", str(contract))
    alice.fill("[name='data.amount']", "700000")
    alice.fill("[name='data.purpose']", "服务合同")
    alice.click("button[type=submit]:has-text('Submit')")
    # The page submits with fetch, then opens the request (the glob matched /requests/new).
    alice.wait_for_url(lambda url: url.rsplit("/", 1)[-1].isdigit())
    request_id = alice.url.rstrip("/").rsplit("/", 1)[-1]
    approve_in_inbox(browser, base, "bob", errors)
    filed = alice.request.get(f"{base}/api/v1/requests/{request_id}").json()
    assert filed["process"] == {"key": "contract_seal", "version": 2}
    assert [t["element_id"] for t in filed["tasks"]] == ["legal_review"]

    refused = alice.goto(base + "/processes/contract_seal/decisions")
    assert refused is not None and refused.status == 403
    shoot(alice, "decisions-requester-403")

    # On a phone: the table, scrolling inside its box; the page no wider than the phone.
    phone = log_in(browser, base, "dave", errors, width=PHONE)
    phone.goto(base + "/processes/contract_seal/decisions")
    phone.wait_for_selector("body[data-decisions=ready]")
    assert phone.is_visible("[data-decision=contract_routing]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE
    shoot(phone, "decisions-phone")
    # Chromium logs the requester's refused page as a console error; nothing else may be there.
    assert_no_errors(errors, refused=(403,))
