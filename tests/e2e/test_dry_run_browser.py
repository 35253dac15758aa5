"""The modeler page's dry-run panel in Chromium: a designer runs the shipped contract flow with
a large amount and sees the legal review with its people and the authorized end, marked on the
diagram; a small amount skips legal; a rejection per element ends elsewhere. On a phone the
panel sits under the diagram. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import pytest

from tests.e2e.browser_pages import PHONE, assert_no_errors, log_in, shoot

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py


def _designer(browser, base: str, errors: list[str], width: int):
    page = log_in(browser, base, "dave", errors, width)
    page.goto(base + "/processes/contract_seal/edit")
    page.wait_for_selector("body[data-modeler=ready]")
    page.wait_for_selector("#dryrun-f-amount")
    page.wait_for_selector("#dryrun-seal option >> nth=1", state="attached")  # the seals came
    return page


def _run(page) -> None:
    page.click("#dryrun-run")
    page.wait_for_selector("#dryrun-result.good, #dryrun-result.bad")
    page.wait_for_selector("#dryrun-run:enabled")


def test_a_designer_dry_runs_the_contract_flow_from_the_modeler(demo_server, browser):
    base = demo_server
    errors: list[str] = []
    dave = _designer(browser, base, errors, 1400)

    # The start form's fields come from the diagram, labelled; the demo seal is chosen.
    assert dave.inner_text("label[for=dryrun-f-amount]").startswith("合同金额")
    assert dave.input_value("#dryrun-seal") != ""
    dave.fill("#dryrun-f-amount", "2000000")
    dave.fill("#dryrun-f-purpose", "采购合同")
    dave.fill("#dryrun-requester", "alice")
    _run(dave)
    assert "authorized end" in dave.inner_text("#dryrun-summary")
    assert "not the authorized" not in dave.inner_text("#dryrun-summary")
    legal = dave.locator('#dryrun-route li[data-element="legal_review"]')
    assert "lily" in legal.inner_text() and "Decision: approve" in legal.inner_text()
    assert "bob" in dave.inner_text('#dryrun-route li[data-element="dept_head_approve"]')
    assert "carol" in dave.inner_text('#dryrun-route li[data-element="custodian_approve"]')
    routing = dave.inner_text('#dryrun-route li[data-element="route_contract"]')
    assert "Rule_contract_large" in routing and "needs_legal" in routing
    # On the diagram: the route's elements and flows, the authorized end.
    assert dave.locator('.sf-route[data-element-id="legal_review"]').count() == 1
    assert dave.locator('.djs-connection.sf-route[data-element-id="flow_needs_legal"]').count() == 1
    assert dave.locator('.sf-route-end[data-element-id="end_authorized"]').count() == 1
    shoot(dave, "dry-run-large", full_page=True)

    # Below the threshold: no legal review, on the list or on the diagram.
    dave.fill("#dryrun-f-amount", "5000")
    dave.click("#dryrun-run")
    dave.wait_for_selector('#dryrun-route li[data-element="legal_review"]', state="detached")
    dave.wait_for_selector("#dryrun-run:enabled")
    assert "authorized end" in dave.inner_text("#dryrun-summary")
    assert dave.locator('#dryrun-route li[data-element="custodian_approve"]').count() == 1
    assert dave.locator('.sf-route[data-element-id="legal_review"]').count() == 0
    assert dave.locator('.sf-route-end[data-element-id="end_authorized"]').count() == 1
    shoot(dave, "dry-run-small", full_page=True)

    # A decision per element: the department head rejects; the rejected end, not authorized.
    dave.click(".studio-dryrun-decisions summary")
    dave.fill("#dryrun-d-dept_head_approve", "reject")
    dave.click("#dryrun-run")
    dave.wait_for_selector("#dryrun-result.bad")
    assert "not the authorized end" in dave.inner_text("#dryrun-summary")
    assert dave.locator('.sf-route-end[data-element-id="end_rejected"]').count() == 1
    assert dave.locator('#dryrun-route li[data-element="custodian_approve"]').count() == 0

    # A user who does not exist: the API's problem, shown, nothing run.
    dave.fill("#dryrun-requester", "nobody-here")
    dave.click("#dryrun-run")
    dave.wait_for_selector("#dryrun-summary:has-text('refused')")
    assert "unknown user" in dave.inner_text("#dryrun-problems")
    assert dave.locator(".sf-route").count() == 0
    assert dave.get_attribute("#dryrun-requester", "aria-invalid") == "true"
    dave.click("#dryrun-problems button:has-text('requester')")  # takes the keyboard there
    assert dave.evaluate("document.activeElement.id") == "dryrun-requester"
    shoot(dave, "dry-run-refused", full_page=True)

    # On a phone the panel stacks under the diagram and still runs.
    phone = _designer(browser, base, errors, PHONE)
    phone.fill("#dryrun-f-amount", "2000000")
    phone.fill("#dryrun-f-purpose", "采购合同")
    phone.fill("#dryrun-requester", "alice")
    _run(phone)
    canvas = phone.locator("#studio-canvas").bounding_box()
    panel = phone.locator("#dryrun").bounding_box()
    assert canvas and panel and panel["y"] >= canvas["y"] + canvas["height"]
    assert panel["width"] <= PHONE
    assert "lily" in phone.inner_text('#dryrun-route li[data-element="legal_review"]')
    shoot(phone, "dry-run-phone", full_page=True)

    # Chromium logs the refused dry run's 422 as a console error; nothing else may be there.
    assert_no_errors(errors, refused=(422,))
