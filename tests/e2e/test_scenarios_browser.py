"""Saved scenarios in the modeler, in Chromium: a designer saves two dry runs of the shipped
contract flow as scenarios, changes a condition in the properties panel so that every contract
goes to legal review, and Validate names the small contract's scenario as changed (its route
before and now) and marks the legal review on the diagram, the large one unchanged; a deploy
reports the same and goes ahead. A scenario loads back into the form and is deleted. On a phone
the list sits under the dry run. A manager who lowers a threshold on the decision-table page
sees the same list. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.browser_pages import PASSWORD
from tests.e2e.test_decisions_browser import _edit_cell

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _designer(browser, base: str, errors: list[str], width: int):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.on("pageerror", lambda exc: errors.append(f"page error {exc}"))
    page.on("console", lambda m: errors.append(f"console {m.text}") if m.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(base + "/login")
    page.fill("input[name=name]", "dave")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/inbox")
    page.goto(base + "/processes/contract_seal/edit")
    page.wait_for_selector("body[data-modeler=ready]")
    page.wait_for_selector("#dryrun-f-amount")
    page.wait_for_selector("#dryrun-seal option >> nth=1", state="attached")  # the seals came
    return page


def _save(page, name: str, amount: str) -> None:
    page.fill("#dryrun-f-amount", amount)
    page.fill("#dryrun-f-purpose", "采购合同")
    page.fill("#dryrun-requester", "alice")
    page.fill("#scenario-name", name)
    page.click("#scenario-save")
    page.wait_for_selector(f'#scenario-list li[data-scenario="{name}"]')


def test_a_lower_threshold_on_the_decision_table_page_flags_a_scenario(  # noqa: F811
        demo_server, browser):  # noqa: F811
    base = demo_server
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    dave = _designer(browser, base, errors, 1400)
    token = dave.get_attribute('meta[name="csrf-token"]', "content")
    url = base + "/api/v1/processes/contract_seal/scenarios/七十万"
    seal = next(s["id"] for s in dave.request.get(base + "/api/v1/seals").json()
                if s["status"] == "active")
    sample = {"requester": "alice", "seal": seal,
              "data": {"amount": 700000, "purpose": "采购合同"}}
    saved = dave.request.put(url, data=json.dumps(sample), headers={
        "Content-Type": "application/json", "X-CSRFToken": token})
    assert saved.status == 201, saved.text()

    dave.goto(base + "/processes/contract_seal/decisions")
    dave.wait_for_selector("body[data-decisions=ready]")
    _edit_cell(dave, "> 1000000", "> 500000")
    _edit_cell(dave, "<= 1000000", "<= 500000")
    dave.click("#decisions-validate")
    dave.wait_for_selector("#decisions-scenarios:has-text('Scenarios re-run: 1, 1 changed')")
    changed = dave.inner_text('#decisions-scenarios li[data-scenario="七十万"]')
    assert "Route now" in changed and "legal_review" in changed
    assert dave.locator('#decisions-scenarios mark[title="legal_review"]').count() == 1
    assert dave.locator("#decisions-scenarios .scenario-problem").count() == 0
    dave.screenshot(path=str(ARTIFACTS / "scenarios-decisions.png"))
    gone = dave.request.delete(url, headers={"X-CSRFToken": token})
    assert gone.status == 200 and gone.json()["deleted"] is True
    assert errors == []


def test_a_changed_condition_flags_a_saved_scenario_on_validate(demo_server, browser):  # noqa: F811
    base = demo_server
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    dave = _designer(browser, base, errors, 1400)
    assert dave.is_visible("#scenario-none")

    _save(dave, "小额合同", "5000")
    assert "saved" in dave.inner_text("#scenario-status")
    assert "authorized end" in dave.inner_text('#scenario-list li[data-scenario="小额合同"]')
    _save(dave, "大额合同", "2000000")
    assert dave.locator("#scenario-list li").count() == 2
    assert not dave.is_visible("#scenario-none")
    # A name the API refuses: its reason, said by the panel.
    dave.fill("#scenario-name", "<bad>")
    dave.click("#scenario-save")
    dave.wait_for_selector("#scenario-status.bad")
    assert "scenario name" in dave.inner_text("#scenario-status")

    # Validate on the diagram as shipped: both scenarios unchanged, nothing marked.
    dave.click("#studio-validate")
    dave.wait_for_selector("#studio-scenarios:has-text('Scenarios re-run: 2, 0 changed')")
    assert "大额合同, 小额合同" in dave.inner_text("#studio-scenarios")
    assert dave.locator(".sf-scenario").count() == 0

    # Every contract to legal review: the condition changed in the properties panel.
    dave.click('[data-element-id="flow_needs_legal_label"]')
    header = dave.locator(".bio-properties-panel-group-header", has_text="Condition").first
    if "open" not in (header.get_attribute("class") or ""):
        header.click()
    dave.fill("#bio-properties-panel-conditionExpression", "${amount > 0}")
    dave.keyboard.press("Tab")
    dave.click("#studio-validate")
    dave.wait_for_selector("#studio-scenarios:has-text('1 changed')")
    changed = dave.locator('#studio-scenarios li[data-scenario="小额合同"]')
    text = changed.inner_text()
    assert "changed" in text and "法务审核 (legal_review)" in text
    assert dave.locator('#studio-scenarios mark[title="legal_review"]').inner_text() == "法务审核"
    assert dave.locator('#studio-scenarios li[data-scenario="小额合同"] mark').count() == 2
    assert "Unchanged: 大额合同" in dave.inner_text("#studio-scenarios")
    assert dave.locator('.sf-scenario[data-element-id="legal_review"]').count() == 1
    assert dave.locator('.sf-scenario[data-element-id="custodian_approve"]').count() == 0
    dave.locator("#studio-result").scroll_into_view_if_needed()
    dave.screenshot(path=str(ARTIFACTS / "scenarios-validate.png"))
    changed.locator("button", has_text="legal_review").click()  # selects it on the diagram
    dave.wait_for_selector(".bio-properties-panel-header-label:has-text('法务审核')")

    # Deploying reports the same scenario and deploys all the same.
    dave.click("#studio-deploy")
    dave.fill("#studio-comment", "所有合同都经法务审核 / every contract to legal review")
    dave.click("#studio-deploy-confirm")
    dave.wait_for_selector("#studio-summary:has-text('Deployed version 2')")
    dave.wait_for_selector("#studio-scenarios:has-text('1 changed')")
    assert "scenario '小额合同'" in dave.inner_text("#studio-problems")
    assert dave.locator('.sf-scenario[data-element-id="legal_review"]').count() == 1
    # The change was meant: the scenario keeps the route it takes now; a validate agrees.
    dave.click('#studio-scenarios li[data-scenario="小额合同"] button:has-text("Keep the route")')
    dave.wait_for_selector('#studio-scenarios li[data-scenario="小额合同"]:has-text("Saved with")')
    assert "replaced" in dave.inner_text("#scenario-status")
    dave.click("#studio-validate")
    dave.wait_for_selector("#studio-scenarios:has-text('Scenarios re-run: 2, 0 changed')")
    assert dave.locator(".sf-scenario").count() == 0

    # A scenario loads back into the dry run's form, which runs it; one is deleted.
    dave.fill("#dryrun-f-amount", "1")
    dave.click('#scenario-list li[data-scenario="大额合同"] button:has-text("Load")')
    dave.wait_for_selector('#dryrun-route li[data-element="legal_review"]')
    assert dave.input_value("#dryrun-f-amount") == "2000000"
    assert dave.input_value("#dryrun-requester") == "alice"
    dave.locator("#scenarios").scroll_into_view_if_needed()
    dave.screenshot(path=str(ARTIFACTS / "scenarios-list.png"), full_page=True)
    dave.click('#scenario-list li[data-scenario="大额合同"] button:has-text("Delete")')
    dave.wait_for_selector('#scenario-list li[data-scenario="大额合同"]', state="detached")
    assert dave.locator("#scenario-list li").count() == 1

    # On a phone the list sits under the dry run, within the screen.
    phone = _designer(browser, base, errors, 390)
    phone.wait_for_selector('#scenario-list li[data-scenario="小额合同"]')
    panel = phone.locator("#scenarios").bounding_box()
    dry = phone.locator("#dryrun-result").bounding_box()
    assert panel and dry and panel["y"] >= dry["y"] and panel["width"] <= 390
    phone.locator("#scenarios").scroll_into_view_if_needed()
    phone.screenshot(path=str(ARTIFACTS / "scenarios-phone.png"), full_page=True)

    # Chromium logs the refused name's 400 as a console error; nothing else may be there.
    refusals = [e for e in errors if "Failed to load resource" in e]
    assert len(refusals) == 1 and "status of 400" in refusals[0]
    assert [e for e in errors if e not in refusals] == []
