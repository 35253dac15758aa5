"""The modeler in Chromium, as issue 11 tells it: with a contract request already running, a
designer opens the shipped contract flow, drags a new task from the palette onto the path
after Legal's approval, names it, makes it a user task and gives it a candidate group in the
properties panel; Validate draws a path that slips past every approval and marks a broken
condition on its flow; the dry run of an amount above the routing table's threshold shows the
new step with its people; the flow deploys with a comment. A request filed then follows the new
version to the new step, while the running one stays on its version. On a phone the modeler is
a read-only diagram; a requester gets 403. No JavaScript errors on any page. Screenshots go to
test-artifacts/ (gitignored)."""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.conftest import make_pdf
from tests.e2e.browser_pages import (
    PHONE,
    ROOT,
    api_get,
    assert_no_errors,
    complete_task,
    file_request,
    log_in,
    on_screen,
    panel_group,
    shoot,
)

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

NEW_STEP = "finance_director_review"  # the id the designer gives the step they add
NEW_NAME = "财务总监审核"
GROUP = "finance_director"  # the demo's group of that name: grace
DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"


def _legal_threshold() -> int:
    """The amount above which the shipped routing table sends a contract to Legal."""
    root = ET.parse(ROOT / "bpmn/contract_seal/contract_routing.dmn").getroot()
    rule = next(r for r in root.iter(f"{DMN}rule") if r.get("id") == "Rule_contract_large")
    text = rule.find(f"{DMN}inputEntry/{DMN}text").text
    return int(re.fullmatch(r">\s*(\d+)", text.strip()).group(1))


def _add_the_approval_step(dave) -> None:
    """A task dragged from the palette and dropped on Legal's 'approved' flow, which bpmn-js
    splits around it; named as it lands; changed to a user task with the wrench; its id and
    candidate group typed into the Camunda panel."""
    entry = dave.get_by_role("button", name="Create task").bounding_box()  # the palette's
    x, y = on_screen(dave, "flow_legal_approved")
    dave.mouse.move(entry["x"] + entry["width"] / 2, entry["y"] + entry["height"] / 2)
    dave.mouse.down()
    dave.mouse.move(x - 60, y - 40, steps=8)
    dave.mouse.move(x, y, steps=8)
    dave.mouse.up()
    dave.wait_for_selector(".djs-direct-editing-parent", state="visible")  # its name, typed
    dave.keyboard.type(NEW_NAME)
    dave.keyboard.press("Enter")
    dave.wait_for_selector(".djs-direct-editing-parent", state="hidden")
    dropped = dave.locator(".djs-shape.selected").get_attribute("data-element-id")
    # bpmn-js swallows the click after a drag; on a loaded machine it may take the next one
    # too (as the second of a double click): click until its context pad shows.
    wrench = dave.locator('.djs-context-pad [title="Change element"]')
    for _ in range(3):
        dave.click(f'[data-element-id="{dropped}"]')
        try:
            wrench.wait_for(state="visible", timeout=5_000)
            break
        except PlaywrightTimeout:
            dave.keyboard.press("Escape")  # a direct edit opened by a double click
    wrench.click()  # the wrench
    dave.locator(".djs-popup").get_by_text("User task", exact=True).click()
    dave.wait_for_selector(".bio-properties-panel-header-type:has-text('User task')")
    assert dave.inner_text(".bio-properties-panel-header-label") == NEW_NAME
    groups = dave.locator(".bio-properties-panel-group-header-title").all_inner_texts()
    assert "User assignment" in groups
    assert not {"Task listeners", "Execution listeners", "Implementation"} & set(groups)
    panel_group(dave, "General")
    dave.fill("#bio-properties-panel-id", NEW_STEP)
    panel_group(dave, "User assignment")
    dave.fill("#bio-properties-panel-candidateGroups", GROUP)
    dave.keyboard.press("Tab")
    assert dave.locator(f'.djs-element[data-element-id="{NEW_STEP}"]').count() == 1
    shoot(dave, "studio-new-step")


def _validate_marks_a_slipping_path(dave) -> None:
    """A flow drawn from the start straight to the authorized end slips past every approval:
    Validate marks the end and draws the path, its new sequence flow included. Then undone."""
    dave.click('[data-element-id="submit"]')
    dave.click('.djs-context-pad [title="Connect to other element"]')
    dave.click('[data-element-id="end_authorized"]')
    dave.click("#studio-validate")
    dave.wait_for_selector('.sf-problem[data-element-id="end_authorized"]')
    assert dave.locator(".djs-connection.sf-path").count() == 1
    assert dave.locator('.sf-path[data-element-id="submit"]').count() == 1
    shoot(dave, "studio-slipping-path")
    dave.click('[data-element-id="submit"]')
    dave.keyboard.press("Control+z")


def _validate_marks_a_broken_condition(dave) -> None:
    """The condition into the new step, broken: Validate marks its flow and lists it; Deploy is
    refused with the same mark; its entry selects the flow, where it is corrected."""
    dave.click('[data-element-id="flow_legal_approved_label"]')
    panel_group(dave, "Condition")
    condition = dave.locator("#bio-properties-panel-conditionExpression")
    kept = condition.input_value()
    condition.fill("${decision == }")
    dave.keyboard.press("Tab")
    dave.click("#studio-validate")
    dave.wait_for_selector('.sf-problem[data-element-id="flow_legal_approved"]')
    assert "flow_legal_approved" in dave.inner_text("#studio-problems")
    shoot(dave, "studio-validate-problem")
    dave.click("#studio-deploy")
    dave.fill("#studio-comment", "broken")
    dave.click("#studio-deploy-confirm")
    dave.wait_for_selector("#studio-summary:has-text('Not deployed')")
    assert dave.is_visible('.sf-problem[data-element-id="flow_legal_approved"]')

    dave.click("#studio-problems button:has-text('flow_legal_approved')")
    dave.wait_for_selector(".bio-properties-panel-header-type:has-text('Sequence flow')")
    panel_group(dave, "Condition")
    dave.fill("#bio-properties-panel-conditionExpression", kept)
    dave.keyboard.press("Tab")
    dave.click("#studio-validate")
    dave.wait_for_selector("#studio-result.good")
    assert dave.locator(".sf-problem").count() == 0


def _dry_run_shows_the_new_step(dave, amount: int) -> float:
    """The panel under the diagram runs the edited flow: Legal, then the new step offered to
    grace, then the custodian, to the authorized end. Its answer time (ms) in the browser."""
    dave.wait_for_selector("#dryrun-seal option >> nth=1", state="attached")  # the seals came
    dave.fill("#dryrun-f-amount", str(amount))
    dave.fill("#dryrun-f-purpose", "年度采购框架合同")
    dave.fill("#dryrun-requester", "alice")
    dave.click("#dryrun-run")
    dave.wait_for_selector("#dryrun-result.good, #dryrun-result.bad")
    dave.wait_for_selector("#dryrun-run:enabled")
    assert "authorized end" in dave.inner_text("#dryrun-summary")
    assert "not the authorized" not in dave.inner_text("#dryrun-summary")
    route = dave.eval_on_selector_all("#dryrun-route li", "ls => ls.map(li => li.dataset.element)")
    assert route.index("legal_review") < route.index(NEW_STEP) < route.index("custodian_approve")
    step = dave.inner_text(f'#dryrun-route li[data-element="{NEW_STEP}"]')
    assert NEW_NAME in step and "grace" in step and "Decision: approve" in step
    assert dave.locator(f'.sf-route[data-element-id="{NEW_STEP}"]').count() == 1
    shoot(dave, "studio-dry-run-new-step", full_page=True)
    return dave.evaluate("""() => performance.getEntriesByType('resource')
        .filter((e) => e.name.endsWith('/api/v1/processes/dry-run')).pop().duration""")


def _read_only_on_a_phone(phone, base: str) -> None:
    """At 390 px: the diagram, the new step on it, without the panel, palette or buttons; a tap
    selects nothing, a drag moves no shape, a double tap renames nothing, the keyboard deletes
    nothing."""
    phone.goto(base + "/processes/contract_seal/edit")
    phone.wait_for_selector("body[data-modeler=ready]")
    step = f'.djs-element[data-element-id="{NEW_STEP}"]'
    assert phone.is_visible(step)
    for hidden in (".djs-palette", "#studio-properties", "#studio-deploy", "#studio-validate"):
        assert not phone.is_visible(hidden), hidden
    shoot(phone, "studio-phone")
    box = phone.locator(step).bounding_box()
    gateway = phone.locator('.djs-element[data-element-id="gw_legal"]')
    apart = box["x"] - gateway.bounding_box()["x"], box["y"] - gateway.bounding_box()["y"]
    phone.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert phone.locator(".djs-element.selected").count() == 0
    assert not phone.is_visible(".djs-context-pad")
    phone.keyboard.press("Control+a")
    phone.keyboard.press("Delete")
    phone.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert not phone.is_visible(".djs-direct-editing-parent")
    phone.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    phone.mouse.down()
    phone.mouse.move(box["x"] + 80, box["y"] + 60, steps=5)
    phone.mouse.up()
    box, there = phone.locator(step).bounding_box(), gateway.bounding_box()
    assert box["x"] - there["x"] == pytest.approx(apart[0], abs=0.5)  # not moved off the others
    assert box["y"] - there["y"] == pytest.approx(apart[1], abs=0.5)
    assert phone.locator(".djs-element").count() > 40  # nothing deleted
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE


def test_a_designer_adds_a_step_dry_runs_and_deploys_it_while_a_request_runs(
        demo_server, browser, tmp_path):
    base = demo_server
    errors: list[str] = []
    amount = _legal_threshold() + 500_000  # Legal reviews it
    pdf = make_pdf(text="Purchase framework contract 2026-101")

    # A request is running on the flow's current version before anyone edits it.
    alice = log_in(browser, base, "alice", errors)
    running = file_request(alice, base, "contract_seal", pdf,
                           {"amount": amount, "purpose": "在途合同"})
    assert running["process"] == {"key": "contract_seal", "version": 1}
    assert [t["element_id"] for t in running["tasks"]] == ["dept_head_approve"]

    dave = log_in(browser, base, "dave", errors)
    started = time.monotonic()
    dave.goto(base + "/processes/contract_seal/edit")
    dave.wait_for_selector("body[data-modeler=ready]")
    dave.wait_for_selector(".djs-palette")
    print(f"modeler interactive after {time.monotonic() - started:.2f} s")
    assert dave.evaluate("document.documentElement.scrollWidth") <= 1400  # the menu fits
    shoot(dave, "studio-opened")

    _add_the_approval_step(dave)
    _validate_marks_a_slipping_path(dave)
    _validate_marks_a_broken_condition(dave)
    answered = _dry_run_shows_the_new_step(dave, amount)
    print(f"dry run answered in {answered:.0f} ms (in the browser, the fetch to its last byte)")

    dave.click("#studio-deploy")
    dave.fill("#studio-comment", "大额合同加财务总监审核 / the finance director reviews them")
    dave.click("#studio-deploy-confirm")
    dave.wait_for_selector("#studio-summary:has-text('Deployed version 2')")
    shoot(dave, "studio-deployed")
    listed = api_get(dave, base, "/processes")
    assert [p["version"] for p in listed if p["key"] == "contract_seal"] == [2]
    bpmn = api_get(dave, base, "/processes/contract_seal/versions/2")["files"]["contract_seal.bpmn"]
    assert re.search(rf'<bpmn:userTask id="{NEW_STEP}" name="{NEW_NAME}" '
                     rf'camunda:candidateGroups="{GROUP}"', bpmn)
    # On the path: Legal's approval (its condition kept) leads into it, it to the custodian.
    assert re.search(rf'id="flow_legal_approved" name="同意" sourceRef="gw_legal" '
                     rf'targetRef="{NEW_STEP}">\s*<bpmn:conditionExpression', bpmn)
    assert re.search(rf'sourceRef="{NEW_STEP}" targetRef="custodian_approve"', bpmn)

    # A request filed now follows version 2: past the head and Legal, to the new step, grace's.
    filed = file_request(alice, base, "contract_seal", pdf, {"amount": amount, "purpose": "新合同"})
    assert filed["process"] == {"key": "contract_seal", "version": 2}
    bob, lily = (log_in(browser, base, name, errors) for name in ("bob", "lily"))
    complete_task(bob, base, filed["id"], "dept_head_approve")
    after = complete_task(lily, base, filed["id"], "legal_review", {"legal_opinion": "条款无误"})
    assert [(t["element_id"], t["candidate_groups"]) for t in after["tasks"]] == [
        (NEW_STEP, [GROUP])]
    grace = log_in(browser, base, "grace", errors)
    assert NEW_NAME in grace.inner_text("main")
    shoot(grace, "studio-new-step-inbox")
    after = complete_task(grace, base, filed["id"], NEW_STEP)  # then on to the custodian
    assert [t["element_id"] for t in after["tasks"]] == ["custodian_approve"]

    # The request that was running stays on version 1: Legal's approval goes to the custodian.
    assert api_get(alice, base, f"/requests/{running['id']}")["process"]["version"] == 1
    complete_task(bob, base, running["id"], "dept_head_approve")
    after = complete_task(lily, base, running["id"], "legal_review", {"legal_opinion": "同意"})
    assert [t["element_id"] for t in after["tasks"]] == ["custodian_approve"]
    assert after["process"] == {"key": "contract_seal", "version": 1}

    _read_only_on_a_phone(log_in(browser, base, "dave", errors, width=PHONE), base)

    refused = alice.goto(base + "/processes/contract_seal/edit")
    assert refused is not None and refused.status == 403
    assert "Not allowed" in alice.inner_text("main")
    shoot(alice, "studio-requester-403")
    # The refused deploy's 422 and the requester's 403, logged by Chromium; nothing else.
    assert_no_errors(errors, refused=(422, 403))
