"""Comparing versions in Chromium: a designer gives the legal review a candidate group in the
modeler and deploys, and the result says what changed with a link to the diff page; a third
version adds a finance check where a sequence flow was. The diff page of v1 and v3 draws both
diagrams with the added elements green on the new side, the removed red on the old, the
changed amber on both, and lists the changes (a click selects the element). An admin dry-runs
the migration of a request running on v1, migrates it, and the API then has it on v3. On a
phone the diagrams stack. No JavaScript errors. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import CONTRACT_BPMN, make_pdf
from tests.e2e.browser_pages import approve_in_inbox, panel_group
from tests.e2e.browser_pages import log_in as _page

pytestmark = pytest.mark.once  # it serves the demo in its own process, like test_browser.py

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TABLE = (CONTRACT_BPMN.parent / "contract_routing.dmn").read_text(encoding="utf-8")


def _sub(xml: str, old: str, new: str) -> str:
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


def with_finance_check() -> str:
    """The contract flow with the legal review for group ``legal``, and a finance check
    (group ``finance``) between the routing and its gateway, drawn in the legal lane:
    the sequence flow ``flow_routed`` gives way to two new ones."""
    xml = CONTRACT_BPMN.read_text(encoding="utf-8")
    xml = _sub(xml, '<bpmn:userTask id="legal_review" name="法务审核">',
               '<bpmn:userTask id="legal_review" name="法务审核" camunda:candidateGroups="legal">')
    xml = _sub(xml, "<bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>",
               "<bpmn:flowNodeRef>legal_review</bpmn:flowNodeRef>"
               "<bpmn:flowNodeRef>finance_check</bpmn:flowNodeRef>")
    xml = _sub(xml, "<bpmn:outgoing>flow_routed</bpmn:outgoing>",
               "<bpmn:outgoing>flow_to_finance</bpmn:outgoing>")
    xml = _sub(xml, "<bpmn:incoming>flow_routed</bpmn:incoming>",
               "<bpmn:incoming>flow_finance_checked</bpmn:incoming>")
    xml = _sub(xml, '<bpmn:sequenceFlow id="flow_routed" sourceRef="route_contract" '
                    'targetRef="gw_amount" />',
               '<bpmn:userTask id="finance_check" name="财务复核" '
               'camunda:candidateGroups="finance">'
               "<bpmn:incoming>flow_to_finance</bpmn:incoming>"
               "<bpmn:outgoing>flow_finance_checked</bpmn:outgoing></bpmn:userTask>"
               '<bpmn:sequenceFlow id="flow_to_finance" sourceRef="route_contract" '
               'targetRef="finance_check" />'
               '<bpmn:sequenceFlow id="flow_finance_checked" sourceRef="finance_check" '
               'targetRef="gw_amount" />')
    xml = re.sub(r'<bpmndi:BPMNEdge id="flow_routed_di".*?</bpmndi:BPMNEdge>',
                 '<bpmndi:BPMNShape id="finance_check_di" bpmnElement="finance_check">'
                 '<dc:Bounds x="630" y="465" width="100" height="80" /></bpmndi:BPMNShape>'
                 '<bpmndi:BPMNEdge id="flow_to_finance_di" bpmnElement="flow_to_finance">'
                 '<di:waypoint x="680" y="375" /><di:waypoint x="680" y="465" />'
                 "</bpmndi:BPMNEdge>"
                 '<bpmndi:BPMNEdge id="flow_finance_checked_di" bpmnElement="flow_finance_checked">'
                 '<di:waypoint x="730" y="505" /><di:waypoint x="830" y="505" />'
                 '<di:waypoint x="830" y="360" /></bpmndi:BPMNEdge>', xml, count=1, flags=re.S)
    assert "finance_check_di" in xml
    return xml


# Deploys files from the page (the session's CSRF token), as the modeler's script does.
DEPLOY_JS = """async ([bpmn, dmn]) => {
  const form = new FormData();
  form.append('file', new Blob([bpmn], { type: 'application/xml' }), 'contract_seal.bpmn');
  form.append('file', new Blob([dmn], { type: 'application/xml' }), 'contract_routing.dmn');
  form.append('comment', '财务复核 / a finance check after the routing');
  return window.SealflowPage.post('/api/v1/processes', form);
}"""


def test_two_versions_compared_and_a_running_request_migrated(demo_server, browser,  # noqa: F811
                                                              tmp_path):
    base = demo_server
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(make_pdf(text="Supply contract 2026-101"))

    # A request running on version 1, waiting for the department head.
    alice = _page(browser, base, "alice", errors)
    alice.goto(base + "/requests/new")
    alice.set_input_files("input[name=document]", str(contract))
    alice.fill("[name='data.amount']", "80000")
    alice.fill("[name='data.purpose']", "供货合同")
    alice.click("button[type=submit]:has-text('Submit')")
    # The page submits with fetch, then opens the request (the glob matched /requests/new).
    alice.wait_for_url(lambda url: url.rsplit("/", 1)[-1].isdigit())
    request_id = int(alice.url.rsplit("/", 1)[1])

    # Version 2 from the modeler: its result says what changed and links to the diff.
    dave = _page(browser, base, "dave", errors)
    dave.goto(base + "/processes/contract_seal/edit")
    dave.wait_for_selector("body[data-modeler=ready]")
    dave.click('[data-element-id="legal_review"]')
    panel_group(dave, "User assignment")
    dave.fill("#bio-properties-panel-candidateGroups", "legal")
    dave.keyboard.press("Tab")
    dave.click("#studio-deploy")
    dave.fill("#studio-comment", "法务审核交给法务组 / legal review to the legal group")
    dave.click("#studio-deploy-confirm")
    dave.wait_for_selector("#studio-summary:has-text('Deployed version 2')")
    summary = dave.inner_text("#studio-summary")
    assert "0 added, 0 removed, 1 changed, 0 table(s) changed: legal_review " \
           "(candidate groups)" in summary, summary
    assert dave.get_attribute("#studio-summary a.studio-diff-link", "href") == \
        "/processes/contract_seal/diff?from=1&to=2"
    dave.locator("#studio-result").screenshot(path=str(ARTIFACTS / "diff-deploy-summary.png"))

    # Version 3: the finance check, deployed with the same call the page makes.
    answer = dave.evaluate(DEPLOY_JS, [with_finance_check(), TABLE])
    assert answer["status"] == 201, answer
    changes = answer["body"]["changes"]
    assert [e["id"] for e in changes["added"]] == ["finance_check", "flow_finance_checked",
                                                   "flow_to_finance"]
    assert [e["id"] for e in changes["removed"]] == ["flow_routed"]

    # The flow page links each version to the one before it.
    dave.goto(base + "/processes/contract_seal")
    dave.click("#v2 a:has-text('Compare with v1')")
    dave.wait_for_selector("body[data-diff=ready]")
    assert dave.locator('#diff-new .sf-changed[data-element-id="legal_review"]').count() == 1

    # The diff of v1 and v3, as the admin sees it.
    admin = _page(browser, base, "admin", errors)
    admin.goto(base + "/processes/contract_seal/diff?from=1&to=3")
    admin.wait_for_selector("body[data-diff=ready]")
    new, old = "#diff-new", "#diff-old"
    for eid in ("finance_check", "flow_to_finance", "flow_finance_checked"):
        assert admin.locator(f'{new} .sf-added[data-element-id="{eid}"]').count() == 1, eid
    assert admin.locator(f'{old} .sf-removed[data-element-id="flow_routed"]').count() == 1
    assert admin.locator(f"{old} .sf-added").count() == 0
    assert admin.locator(f"{new} .sf-removed").count() == 0
    for eid in ("legal_review", "route_contract", "gw_amount"):
        for side in (new, old):
            assert admin.locator(f'{side} .sf-changed[data-element-id="{eid}"]').count() == 1
    changes_text = admin.inner_text("#diff-changes")
    assert "3 added · 1 removed · 3 changed" in changes_text
    assert re.search(r"candidate groups\s+—\s+legal", changes_text)
    # A change in the list selects its element on the diagram.
    admin.click('#diff-changes button[data-element="finance_check"]')
    assert admin.locator(f'{new} .selected[data-element-id="finance_check"]').count() == 1
    admin.screenshot(path=str(ARTIFACTS / "diff-page.png"), full_page=True)

    # Dry run: the running request would move; nothing moved yet.
    admin.click("#migrate-dry-run")
    admin.wait_for_selector("#migrate-summary:has-text('Dry run')")
    assert f"Request #{request_id}" in admin.inner_text("#migrate-moved")
    assert admin.inner_text("#migrate-refused") == ""
    version = admin.request.get(f"{base}/api/v1/requests/{request_id}").json()
    assert version["process"]["version"] == 1
    admin.locator("#migrate").screenshot(path=str(ARTIFACTS / "diff-dry-run.png"))

    # Migrate, after the confirmation dialog.
    admin.click("#migrate-run")
    admin.wait_for_selector("#migrate-dialog[open]")
    admin.click("#migrate-confirm")
    admin.wait_for_selector("#migrate-summary:has-text('Moved')")
    assert f"Request #{request_id}" in admin.inner_text("#migrate-moved")
    admin.locator("#migrate").screenshot(path=str(ARTIFACTS / "diff-migrated.png"))
    moved = admin.request.get(f"{base}/api/v1/requests/{request_id}").json()
    assert moved["process"] == {"key": "contract_seal", "version": 3}

    # On v3 the department head's approval leads to the finance check; back to v1, where
    # there is none, the request is refused with the reason.
    approve_in_inbox(browser, base, "bob", errors)
    on_v3 = admin.request.get(f"{base}/api/v1/requests/{request_id}").json()
    assert [t["element_id"] for t in on_v3["tasks"]] == ["finance_check"]
    admin.goto(base + "/processes/contract_seal/diff?from=3&to=1")
    admin.wait_for_selector("body[data-diff=ready]")
    admin.click("#migrate-dry-run")
    admin.wait_for_selector("#migrate-result.bad")
    refused = admin.inner_text("#migrate-refused")
    assert f"Request #{request_id}" in refused and "finance_check" in refused
    assert "version 1 removed" in refused
    admin.locator("#migrate").screenshot(path=str(ARTIFACTS / "diff-refused.png"))
    # The same refusal to a Chinese reader, in Chinese (the API answers in the page's language).
    admin.goto(base + "/processes/contract_seal/diff?from=3&to=1&lang=zh_CN")
    admin.wait_for_selector("body[data-diff=ready]")
    admin.click("#migrate-dry-run")
    admin.wait_for_selector("#migrate-result.bad")
    refused = admin.inner_text("#migrate-refused")
    assert "正在 “finance_check” 等待，而版本 1 删除了该元素" in refused
    admin.locator("#migrate").screenshot(path=str(ARTIFACTS / "diff-refused-zh.png"))
    admin.goto(base + "/processes/contract_seal/diff?from=3&to=1&lang=en")

    # Designers compare but do not migrate.
    dave.goto(base + "/processes/contract_seal/diff?from=1&to=3")
    dave.wait_for_selector("body[data-diff=ready]")
    assert dave.locator("#migrate").count() == 0

    # On a phone: the diagrams stacked, the page no wider than the phone.
    phone = _page(browser, base, "admin", errors, width=390)
    phone.goto(base + "/processes/contract_seal/diff?from=1&to=3")
    phone.wait_for_selector("body[data-diff=ready]")
    phone.screenshot(path=str(ARTIFACTS / "diff-phone.png"), full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    old_box = phone.locator("#diff-old").bounding_box()
    new_box = phone.locator("#diff-new").bounding_box()
    assert new_box["y"] >= old_box["y"] + old_box["height"]
    assert errors == []
