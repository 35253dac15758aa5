"""The modeler in Chromium: a designer opens the shipped contract flow, gives a task a
candidate group in the properties panel, sees a broken condition marked on its element,
validates and deploys with a comment; the API then lists the new version. A requester gets 403.
Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.test_browser import PASSWORD, browser, demo_server  # noqa: F401 - fixtures

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _page(browser, base: str, name: str, errors: list[str],  # noqa: F811 - the fixture
          width: int = 1400):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.on("pageerror", lambda exc: errors.append(f"{name}: page error {exc}"))
    page.on("console", lambda m: errors.append(f"{name}: console {m.text}")
            if m.type == "error" else None)
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/inbox")
    return page


def _panel_group(page, title: str) -> None:
    """Open a group of the properties panel (they start closed) by its header."""
    header = page.locator(".bio-properties-panel-group-header", has_text=title).first
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def test_a_designer_edits_validates_and_deploys_in_the_modeler(demo_server, browser):  # noqa: F811
    base = demo_server
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    dave = _page(browser, base, "dave", errors)

    started = time.monotonic()
    dave.goto(base + "/processes/contract_seal/edit")
    dave.wait_for_selector("body[data-modeler=ready]")
    dave.wait_for_selector(".djs-palette")
    print(f"modeler interactive after {time.monotonic() - started:.2f} s")

    # A candidate group for the legal review, typed into the Camunda panel.
    dave.click('[data-element-id="legal_review"]')
    dave.wait_for_selector(".bio-properties-panel-header-label:has-text('法务审核')")
    groups = dave.locator(".bio-properties-panel-group-header-title").all_inner_texts()
    assert "User assignment" in groups and "Form fields" in groups
    assert not {"Task listeners", "Execution listeners", "Implementation"} & set(groups)
    _panel_group(dave, "User assignment")
    dave.fill("#bio-properties-panel-candidateGroups", "legal")
    dave.keyboard.press("Tab")
    dave.screenshot(path=str(ARTIFACTS / "studio-candidate-group.png"))

    # A flow drawn from the start straight to the authorized end slips past every approval:
    # Validate marks the end and draws the path, its new sequence flow included. Then undone.
    dave.click('[data-element-id="submit"]')
    dave.click('.djs-context-pad .entry[data-action="connect"]')
    dave.click('[data-element-id="end_authorized"]')
    dave.click("#studio-validate")
    dave.wait_for_selector('.sf-problem[data-element-id="end_authorized"]')
    assert dave.locator(".djs-connection.sf-path").count() == 1
    assert dave.locator('.sf-path[data-element-id="submit"]').count() == 1
    dave.screenshot(path=str(ARTIFACTS / "studio-slipping-path.png"))
    dave.click('[data-element-id="submit"]')
    dave.keyboard.press("Control+z")

    # A broken condition: Validate marks its sequence flow and lists the message.
    dave.click('[data-element-id="flow_needs_legal_label"]')
    _panel_group(dave, "Condition")
    condition = dave.locator("#bio-properties-panel-conditionExpression")
    kept = condition.input_value()
    condition.fill("${contract_route[ == }")
    dave.keyboard.press("Tab")
    dave.click("#studio-validate")
    dave.wait_for_selector('.sf-problem[data-element-id="flow_needs_legal"]')
    assert "flow_needs_legal" in dave.inner_text("#studio-problems")
    dave.screenshot(path=str(ARTIFACTS / "studio-validate-problem.png"))
    # Deploying it anyway is refused with the same problem on the same element.
    dave.click("#studio-deploy")
    dave.fill("#studio-comment", "broken")
    dave.click("#studio-deploy-confirm")
    dave.wait_for_selector("#studio-summary:has-text('Not deployed')")
    assert dave.is_visible('.sf-problem[data-element-id="flow_needs_legal"]')

    # The problem's entry selects its element: the condition is corrected there.
    dave.click("#studio-problems button:has-text('flow_needs_legal')")
    dave.wait_for_selector(".bio-properties-panel-header-label:has-text('需要法务')")
    _panel_group(dave, "Condition")
    dave.fill("#bio-properties-panel-conditionExpression", kept)
    dave.keyboard.press("Tab")
    dave.click("#studio-validate")
    dave.wait_for_selector("#studio-result.good")
    assert dave.locator(".sf-problem").count() == 0

    dave.click("#studio-deploy")
    dave.fill("#studio-comment", "法务审核交给法务组 / legal review to the legal group")
    dave.click("#studio-deploy-confirm")
    dave.wait_for_selector("#studio-summary:has-text('Deployed version 2')")
    dave.screenshot(path=str(ARTIFACTS / "studio-deployed.png"))

    listed = dave.request.get(base + "/api/v1/processes").json()
    assert [p["version"] for p in listed if p["key"] == "contract_seal"] == [2]
    files = dave.request.get(base + "/api/v1/processes/contract_seal/versions/2").json()["files"]
    assert 'camunda:candidateGroups="legal"' in files["contract_seal.bpmn"]

    # On a phone: the diagram, without the panel, the palette or the buttons.
    phone = _page(browser, base, "dave", errors, width=390)
    phone.goto(base + "/processes/contract_seal/edit?version=1")
    phone.wait_for_selector("body[data-modeler=ready]")
    assert phone.is_visible('[data-element-id="legal_review"]')
    assert not phone.is_visible(".djs-palette")
    assert not phone.is_visible("#studio-properties")
    assert not phone.is_visible("#studio-deploy")
    phone.screenshot(path=str(ARTIFACTS / "studio-phone.png"))

    alice = _page(browser, base, "alice", errors)
    refused = alice.goto(base + "/processes/contract_seal/edit")
    assert refused is not None and refused.status == 403
    assert "Not allowed" in alice.inner_text("main")
    alice.screenshot(path=str(ARTIFACTS / "studio-requester-403.png"))
    # Chromium logs each refused answer as a console error: the refused deploy's 422 and the
    # requester's 403; nothing else may be there.
    refusals = [e for e in errors if "Failed to load resource" in e]
    assert len(refusals) == 2 and "status of 422" in refusals[0] and "status of 403" in refusals[1]
    assert [e for e in errors if e not in refusals] == []
