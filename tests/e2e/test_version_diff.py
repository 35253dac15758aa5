"""Comparing two versions: the diff API (designers, managers, seal admins, admins; clear
refusals of bad versions), what the deploy answer says changed, and the diff page (the
migration panel for admins only)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import deploy, deploy_bytes
from tests.e2e.test_flow_pages import _with_role
from tests.e2e.test_migration import TABLE, with_finance_review, with_legal_threshold


def _v2(org) -> dict:
    """Version 2: a finance review after the department head, and Legal from 500,000."""
    resp = deploy_bytes(org.designer, {"contract_seal.bpmn": with_finance_review(),
                                       "contract_routing.dmn": with_legal_threshold(500000)},
                        comment="财务审核 / finance review")
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_the_diff_names_what_changed_for_each_studio_role(org, api):
    _v2(org)
    body = org.designer.get("/api/v1/processes/contract_seal/diff?from=1&to=2").get_json()
    assert (body["key"], body["from"], body["to"]) == ("contract_seal", 1, 2)
    assert body["added"] == [
        {"id": "finance_review", "type": "userTask", "name": "财务审核"},
        {"id": "flow_finance_done", "type": "sequenceFlow", "name": None}]
    assert body["removed"] == []
    assert {c["id"]: c["properties"] for c in body["changed"]}["flow_dept_approved"] == [
        {"name": "target", "before": "route_contract", "after": "finance_review"}]
    [table] = body["decisions"]
    assert [r["id"] for r in table["rules"]["changed"]] == ["Rule_contract_large",
                                                             "Rule_contract_small"]
    # The other way round, what was added is removed.
    back = org.designer.get("/api/v1/processes/contract_seal/diff?from=2&to=1").get_json()
    assert [e["id"] for e in back["removed"]] == ["finance_review", "flow_finance_done"]
    assert org.seal_admin.get("/api/v1/processes/contract_seal/diff?from=1&to=2") \
        .status_code == 200
    assert api("mia", roles=["manager"]).get(
        "/api/v1/processes/contract_seal/diff?from=1&to=2").status_code == 200
    assert api("root", roles=["admin"]).get(
        "/api/v1/processes/contract_seal/diff?from=1&to=2").status_code == 200
    refused = org.alice.get("/api/v1/processes/contract_seal/diff?from=1&to=2")
    assert refused.status_code == 403


@pytest.mark.parametrize(("query", "status", "says"), [
    ("", 400, "?from=V&to=W"),
    ("?from=1", 400, "?from=V&to=W"),
    ("?from=0&to=2", 400, "from must be a whole number"),
    ("?from=one&to=2", 400, "from must be a whole number"),
    ("?from=1&to=99999999999999999999", 400, "to must be a whole number"),
    ("?from=2&to=2", 400, "both version 2"),
    ("?from=1&to=3", 404, "has no version 3"),
])
def test_bad_versions_are_refused_clearly(org, query, status, says):
    _v2(org)
    resp = org.designer.get("/api/v1/processes/contract_seal/diff" + query)
    assert resp.status_code == status
    assert says in resp.get_json()["error"]["message"]


def test_an_unknown_flow_has_no_diff(org):
    resp = org.designer.get("/api/v1/processes/no_such_flow/diff?from=1&to=2")
    assert resp.status_code == 404


def test_a_deploy_says_what_changed_against_the_previous_version(org, api):
    first = api("dave", roles=["designer"])
    again = deploy_bytes(first, {"contract_seal.bpmn": with_finance_review(),
                                 "contract_routing.dmn": TABLE.encode()})
    assert again.status_code == 201
    changes = again.get_json()["changes"]
    assert (changes["from"], changes["to"]) == (1, 2)
    assert [e["id"] for e in changes["added"]] == ["finance_review", "flow_finance_done"]
    assert changes["decisions"] == []
    # The same files again: no new version, nothing changed.
    same = deploy_bytes(first, {"contract_seal.bpmn": with_finance_review(),
                                "contract_routing.dmn": TABLE.encode()})
    assert same.status_code == 200 and same.get_json()["changes"] is None


def test_a_first_version_has_no_changes(api):
    resp = deploy(api("dana", roles=["designer"]))
    assert resp.status_code == 201 and resp.get_json()["changes"] is None


def test_the_diff_page_lists_the_changes_and_offers_migration_to_admins(org, login, app):
    _v2(org)
    flow_page = login("dana").get("/processes/contract_seal").text
    assert 'href="/processes/contract_seal/diff?from=1&amp;to=2"' in flow_page
    page = login("dana").get("/processes/contract_seal/diff?from=1&to=2")
    assert page.status_code == 200
    text = page.text
    assert re.search(r'Added</span> <button[^>]*data-element="finance_review" '
                     r'data-side="new"', text)
    assert re.search(r'data-element="flow_dept_approved" data-side="both"', text)
    assert "<td>target</td>" in text and "Rule_contract_large" in text
    assert 'id="migrate"' not in text  # designers do not migrate
    # Without from, the version before the newest.
    assert "v1 → v2" in login("dana").get("/processes/contract_seal/diff").text
    root = _with_role(org, login, "root", "admin")
    assert 'id="migrate-dry-run"' in root.get("/processes/contract_seal/diff?from=1&to=2").text
    assert login("alice").get("/processes/contract_seal/diff?from=1&to=2").status_code == 403
    anonymous = app.test_client().get("/processes/contract_seal/diff?from=1&to=2")
    assert anonymous.status_code == 302


def test_the_diff_page_of_a_flow_with_one_version_says_so(org, login):
    page = login("dana").get("/processes/contract_seal/diff")
    assert page.status_code == 400
    assert "no version before 1" in page.text
