"""The flows pages in Chromium, as a designer, a manager and an admin, on a desktop (1400 px)
and a phone (390 px): the list of flows, one flow's versions, the business types; nothing
wider than a phone's screen. A manager re-points a business type and sees it saved; an admin
retires a version and reinstates it; a requester gets 403. In the modeler, the condition's
type offers no Script, and Validate draws the path that slips past the custodian's approval
the seal's policy demands. Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser_pages import PASSWORD, overflow, panel_group, serving_demo
from tests.e2e.browser_pages import log_in as _page

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SEAL = 2  # the demo's contract seal
WIDTHS = (1400, 390)
PAGES = {"flows": "/processes", "flow": "/processes/contract_seal",
         "business-types": "/processes/business-types"}


@pytest.fixture(scope="module")
def flow_server(tmp_path_factory):
    """The demo, with a designer (dina) and a manager (max) who hold only that role, and the
    contract seal's policy demanding its custodian's approval for contracts."""
    with serving_demo(tmp_path_factory.mktemp("flows"),
                      ["user", "add", "dina", "--password", PASSWORD, "--roles", "designer"],
                      ["user", "add", "max", "--password", PASSWORD, "--roles", "manager"],
                      ["seal", "policy", str(SEAL), "--demand", "custodian",
                       "--business-types", "contract"]) as base:
        yield base



def test_the_flow_pages_fit_and_work_for_each_role(flow_server, browser):  # noqa: F811
    base = flow_server
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    for name in ("dina", "max", "admin"):
        for width in WIDTHS:
            page = _page(browser, base, name, errors, width)
            for label, url in PAGES.items():
                answer = page.goto(base + url)
                assert answer is not None and answer.status == 200, (name, url)
                page.screenshot(path=str(ARTIFACTS / f"flow-pages-{label}-{name}-{width}.png"),
                                full_page=True)
                assert overflow(page) <= 2, (name, width, url, overflow(page))
            page.goto(base + PAGES["flow"])
            retiring = page.locator("button:has-text('Retire v1')")
            assert retiring.count() == (0 if name == "dina" else 1)
            page.goto(base + PAGES["business-types"])
            assert page.locator("#bt-process").count() == (0 if name == "dina" else 1)
            page.context.close()

    # A manager re-points the lending business type to the contract flow, on the page.
    max_ = _page(browser, base, "max", errors, 390)
    max_.goto(base + PAGES["business-types"])
    max_.fill("#bt-key", "lending")
    max_.select_option("#bt-process", "contract_seal")
    max_.click("form.card button[type=submit]")
    max_.wait_for_url(base + PAGES["business-types"])
    assert "Business type lending now routes to contract_seal" in max_.inner_text("body")
    row = max_.locator("tr", has=max_.locator("td.mono", has_text="lending"))
    assert row.locator("a").inner_text() == "contract_seal"
    assert overflow(max_) <= 2
    max_.screenshot(path=str(ARTIFACTS / "flow-pages-business-type-saved-390.png"),
                    full_page=True)
    listed = max_.request.get(base + "/api/v1/business-types").json()
    assert {"key": "lending", "name": "印章外借", "process": "contract_seal"} in listed

    # An admin retires version 1 of the contract flow (no new requests), then reinstates it.
    admin = _page(browser, base, "admin", errors)
    admin.goto(base + PAGES["flow"])
    admin.click("button:has-text('Retire v1')")
    admin.wait_for_selector("text=Version 1 is retired")
    assert admin.is_visible("#v1 >> text=Retired")
    assert admin.is_visible("text=All retired: no new requests")
    admin.screenshot(path=str(ARTIFACTS / "flow-pages-retired.png"), full_page=True)
    versions = admin.request.get(base + "/api/v1/processes").json()
    assert [p["current"] for p in versions if p["key"] == "contract_seal"] == [False]
    admin.click("button:has-text('Reinstate v1')")
    admin.wait_for_selector("text=Version 1 is in use again")
    assert admin.is_visible("#v1 >> text=In use")
    versions = admin.request.get(base + "/api/v1/processes").json()
    assert [p["current"] for p in versions if p["key"] == "contract_seal"] == [True]

    alice = _page(browser, base, "alice", errors, 390)
    for url in PAGES.values():
        refused = alice.goto(base + url)
        assert refused is not None and refused.status == 403, url
        assert "Not allowed" in alice.inner_text("main")
        assert overflow(alice) <= 2
    alice.screenshot(path=str(ARTIFACTS / "flow-pages-requester-403-390.png"))
    # Chromium logs each refused page as a console error; nothing else may be there.
    refusals = [e for e in errors if "status of 403" in e]
    assert len(refusals) == len(PAGES)
    assert [e for e in errors if e not in refusals] == []


def test_validate_draws_the_path_past_the_approval_a_seal_demands(flow_server, browser):  # noqa: F811
    base = flow_server
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    dina = _page(browser, base, "dina", errors)
    dina.goto(base + "/processes/contract_seal/edit")
    dina.wait_for_selector("body[data-modeler=ready]")

    # A condition's type: none or an expression; never a script (refused at deploy).
    dina.click('[data-element-id="flow_needs_legal_label"]')
    panel_group(dina, "Condition")
    assert dina.locator("#bio-properties-panel-conditionType option").evaluate_all(
        "options => options.map(o => o.value)") == ["", "expression"]

    # A way from legal's verdict straight to the authorized end, with its own condition: the
    # department head still approves (the flow is valid), the custodian does not.
    dina.click('[data-element-id="gw_legal"]')
    dina.click('.djs-context-pad .entry[data-action="connect"]')
    dina.click('[data-element-id="end_authorized"]')
    added = dina.evaluate("""() => {
      const { modeler } = window.SealflowStudio;
      const flow = modeler.get('elementRegistry').filter((e) => e.type === 'bpmn:SequenceFlow'
        && e.source.id === 'gw_legal' && e.target.id === 'end_authorized')[0];
      modeler.get('selection').select(flow);
      return flow.id;
    }""")
    panel_group(dina, "Condition")
    dina.select_option("#bio-properties-panel-conditionType", "expression")
    dina.fill("#bio-properties-panel-conditionExpression", "${legal_verdict == 'fast'}")
    dina.keyboard.press("Tab")

    dina.click("#studio-validate")
    dina.wait_for_selector(f'.sf-seal-path[data-element-id="{added}"]')
    listed = dina.inner_text("#studio-problems")
    assert f"cannot be used with seal {SEAL} (" in listed
    assert "without an approval by a custodian of the seal" in listed
    for element in ("legal_review", "gw_legal", "end_authorized", added):
        assert dina.is_visible(f'.djs-element.sf-seal-path[data-element-id="{element}"]'), element
    assert dina.locator('.sf-seal-path[data-element-id="custodian_approve"]').count() == 0
    assert dina.locator(".sf-problem").count() == 0  # a warning: the flow itself is valid
    colour = dina.locator(f'.sf-seal-path[data-element-id="{added}"] .djs-visual > path') \
        .evaluate("p => getComputedStyle(p).stroke")
    assert colour == "rgb(108, 63, 181)"  # violet, apart from the red of an approval path
    dina.evaluate("() => window.SealflowStudio.modeler.get('selection').select(null)")
    dina.screenshot(path=str(ARTIFACTS / "studio-seal-path.png"))
    assert errors == []



def test_the_modeler_shows_whether_a_task_may_send_back(flow_server, browser):  # noqa: F811
    """Read-only, from the paths drawn: legal review sends back to the requester (the shipped
    flow's return path), and also to the department head once a flow past its gateway is taken
    there on decision == 'return'; the requester's own revise task cannot send back."""
    base = flow_server
    errors: list[str] = []
    dina = _page(browser, base, "dina", errors)
    dina.goto(base + "/processes/contract_seal/edit")
    dina.wait_for_selector("body[data-modeler=ready]")
    dina.click('[data-element-id="legal_review"]')
    dina.wait_for_selector("#studio-send-back.yes")
    assert "May send back (by the paths drawn) to: 申请人修改后重新提交" in \
        dina.inner_text("#studio-send-back")
    dina.click('[data-element-id="revise"]')
    dina.wait_for_selector("#studio-send-back.no")
    assert "Cannot send back" in dina.inner_text("#studio-send-back")
    dina.click('[data-element-id="gw_dept"]')
    assert dina.is_hidden("#studio-send-back")  # a gateway: nothing to say

    # A way back from legal's verdict to the department head, taken on a return.
    dina.click('[data-element-id="gw_legal"]')
    dina.click('.djs-context-pad .entry[data-action="connect"]')
    dina.click('[data-element-id="dept_head_approve"]')
    dina.evaluate("""() => {
      const { modeler } = window.SealflowStudio;
      modeler.get('selection').select(modeler.get('elementRegistry').filter((e) =>
        e.type === 'bpmn:SequenceFlow' && e.source.id === 'gw_legal'
        && e.target.id === 'dept_head_approve')[0]);
    }""")
    panel_group(dina, "Condition")
    dina.select_option("#bio-properties-panel-conditionType", "expression")
    dina.fill("#bio-properties-panel-conditionExpression", "${decision == 'return'}")
    dina.keyboard.press("Tab")
    _select(dina, "legal_review")
    dina.wait_for_function("document.getElementById('studio-send-back').textContent"
                           ".includes('部门负责人审批')")
    assert "May send back (by the paths drawn) to: 申请人修改后重新提交, 部门负责人审批" in \
        dina.inner_text("#studio-send-back")
    dina.click('[data-element-id="custodian_approve"]')  # its own paths: the requester only
    dina.wait_for_function("!document.getElementById('studio-send-back').textContent"
                           ".includes('部门负责人审批')")
    assert "May send back (by the paths drawn) to: 申请人修改后重新提交" in \
        dina.inner_text("#studio-send-back")
    dina.click('[data-element-id="legal_review"]')
    dina.locator(".studio-editor").screenshot(path=str(ARTIFACTS / "studio-send-back.png"))
    assert not errors, errors


def _select(page, element_id: str) -> None:
    """A click on the element; again if bpmn-js swallowed it (it does after a connect)."""
    for _ in range(2):
        page.click(f'[data-element-id="{element_id}"]')
        if page.evaluate("() => (window.SealflowStudio.modeler.get('selection').get()[0]"
                         " || {}).id") == element_id:
            return
    raise AssertionError(f"{element_id} could not be selected")
