"""/admin/groups and /admin/incidents as an administrator uses them: groups with their heads
and members, a group added, its head named, members added and removed (each audited, bad
input refused with what was typed kept); the requests stopped across every flow with their
reason, retried from the page."""

from __future__ import annotations

import re

import pytest

from tests.app.test_admin_users import _form, events
from tests.conftest import submit


@pytest.fixture
def root(org, login, make_user):
    make_user("root", roles=["admin"])
    return login("root")


def test_groups_show_their_head_and_members(org, root):
    page = root.get("/admin/groups").text
    row = re.search(r"<tr>\s*<td data-label=\"Group\"><a href=\"/admin/groups/sales\">.*?</tr>",
                    page, re.S)
    assert row and "(bob)" in row.group(0) and "alice" in row.group(0)
    assert "法务部" in page
    found = root.get("/admin/groups?q=法务").text
    assert "/admin/groups/legal" in found and "/admin/groups/sales" not in found


def test_a_group_is_added_with_its_head_who_becomes_a_member(app, org, root):
    added = root.post("/admin/groups", data={"key": "finance", "name": "财务部",
                                             "head": "carol"})
    assert added.status_code == 302 and added.headers["Location"] == "/admin/groups/finance"
    page = root.get("/admin/groups/finance").text
    assert "Group finance added" in page and "财务部" in page and "(carol)" in page
    assert events(app, "group.created") == [
        {"actor": "root", "group": "finance", "name": "财务部", "head": "carol"}]
    assert "finance" in org.carol.get("/api/v1/me").get_json()["groups"]


@pytest.mark.parametrize("change, message", [
    ({"key": "sales"}, "already a group sales"),
    ({"key": "two words"}, "no spaces or commas"),
    ({"head": "nobody"}, "no user named nobody"),
])
def test_a_refused_group_keeps_what_was_typed(app, root, change, message):
    form = {"key": "finance", "name": "财务部", "head": "carol", **change}
    page = root.post("/admin/groups", data=form)
    assert page.status_code == 400 and message in page.text
    assert _form(page.text, "name") == "财务部" and _form(page.text, "head") == form["head"]
    assert events(app, "group.created") == []


def test_members_and_the_head_change_on_the_groups_page(app, org, root):
    assert root.post("/admin/groups/legal/members", data={"member": "carol"}).status_code == 302
    page = root.get("/admin/groups/legal").text
    assert "carol added to the group" in page and "(carol)" in page
    unknown = root.post("/admin/groups/legal/members", data={"member": "nobody"})
    assert unknown.status_code == 400 and "no user named nobody" in unknown.text
    assert _form(unknown.text, "member") == "nobody"
    twice = root.post("/admin/groups/legal/members", data={"member": "carol"})
    assert twice.status_code == 400 and "carol is already in legal" in twice.text

    assert root.post("/admin/groups/legal/head", data={"head": "lily"}).status_code == 302
    assert "lily now heads the group" in root.get("/admin/groups/legal").text
    # The head is not removed while they head it; another member needs a confirmation.
    refused = root.post("/admin/groups/legal/members/lily/remove", data={"confirm": "yes"})
    assert refused.status_code == 400
    assert "lily heads legal: name another head first" in refused.text
    root.post("/admin/groups/legal/members/carol/remove")
    assert "Confirm to remove the member" in root.get("/admin/groups/legal").text
    root.post("/admin/groups/legal/members/carol/remove", data={"confirm": "yes"})
    assert "legal" not in org.carol.get("/api/v1/me").get_json()["groups"]
    assert events(app, "group.member_added") == [
        {"actor": "root", "group": "legal", "user": "carol"}]
    assert events(app, "group.member_removed") == [
        {"actor": "root", "group": "legal", "user": "carol"}]
    assert events(app, "group.head_changed") == [
        {"actor": "root", "group": "legal", "head": "lily", "previous": None}]


def test_groups_pages_are_for_administrators(org, login):
    alice = login("alice")
    assert alice.get("/admin/groups/sales").status_code == 403
    assert alice.post("/admin/groups", data={"key": "x"}).status_code == 403
    assert alice.post("/admin/groups/sales/members", data={"member": "carol"}).status_code \
        == 403
    assert alice.post("/admin/groups/sales/members/alice/remove",
                      data={"confirm": "yes"}).status_code == 403


def test_incidents_of_every_flow_are_listed_with_their_reason_and_retried(app, org, login,
                                                                           root, pdf):
    assert "No incidents" in root.get("/admin/incidents").text
    # Bob heads his own department: the head's approval can go to nobody, an incident.
    stopped = submit(org.bob, org.seal_id, pdf).get_json()
    assert stopped["status"] == "incident", stopped
    page = root.get("/admin/incidents").text
    assert f"#{stopped['id']}" in page and "A step of the flow could not go on" in page
    assert "dept_head_approve" in page and "Incident" in page
    assert login("alice").get("/admin/incidents").status_code == 403

    # Once sales has another head, the retry reads the people again and the request runs on.
    root.post("/admin/groups/sales/head", data={"head": "carol"})
    retried = root.post(f"/admin/incidents/{stopped['id']}/retry")
    assert retried.status_code == 302 and retried.headers["Location"] == "/admin/incidents"
    after = root.get("/admin/incidents").text
    assert f"Request #{stopped['id']} retried: now Running" in after
    assert "No incidents" in after
    assert [e["actor"] for e in events(app, "request.retried")] == ["root"]
    # A request not stopped is refused with the reason.
    again = root.post(f"/admin/incidents/{stopped['id']}/retry",
                      data={"variable": "amount", "value": "5"})
    assert again.status_code == 302
    assert "variables are corrected only for an incident" in root.get("/admin/incidents").text


def test_a_failed_sealing_is_listed_and_its_reason_shown(app, org, root, pdf):
    from app.extensions import db
    from processes.db import unit_of_work
    from processes.models import Request, RequestStatus
    req = submit(org.alice, org.seal_id, pdf).get_json()
    with app.app_context(), unit_of_work(db.session):
        row = db.session.get(Request, req["id"])
        row.status, row.failure = RequestStatus.failed, "the seal was revoked"
    page = root.get("/admin/incidents").text
    assert "Sealing failed:" in page and "the seal was revoked" in page
    assert "Sealing is tried again" in page
    # A page past the last, or no number at all, shows the last one.
    for past in ("999999999999999999999999", "-3", "x"):
        assert "the seal was revoked" in root.get(f"/admin/incidents?page={past}").text
    for url in ("/admin/users", "/admin/groups"):
        assert "Page" not in root.get(f"{url}?page=999999999999999999999999").text


def test_the_lists_read_as_many_statements_for_many_rows_as_for_few(app, org, root,
                                                                     make_user):
    from tests.e2e.test_query_budget import statements

    def cost(url: str) -> int:
        with statements(app) as seen:
            assert root.get(url).status_code == 200
        return len(seen)

    urls = ("/admin/users", "/admin/groups", "/admin/incidents")
    few = {url: cost(url) for url in urls}
    for n in range(30):
        make_user(f"clerk{n:02d}", groups=[f"dept{n % 12:02d}", "sales"],
                  roles=["auditor"] if n % 3 else [])
    assert {url: cost(url) for url in urls} == few
